//! OSC, DCS, SOS, PM and APC string bodies: passed on up to `MAX_STRING` bytes, then cut.

use super::scan::find_string_end;
use super::{CAP_OSC, CAP_OTHER, Filter, Sink, State, Step};

use super::{BEL, CAN, ESC, ST_C1, SUB};

impl Filter {
    pub(super) fn enter_string(&mut self, state: State) {
        self.state = state;
        self.str_len = 0;
        self.dropping = false;
    }

    /// OSC, DCS and SOS/PM/APC: count the body, cap it, drop the rest of a capped string.
    pub(super) fn string(
        &mut self,
        input: &[u8],
        mut i: usize,
        run: &mut usize,
        out: &mut impl Sink,
    ) -> usize {
        let cap = self.cap();
        while i < input.len() {
            if matches!(
                self.state,
                State::Osc | State::DcsPass | State::DcsIgnore | State::SosPmApc
            ) {
                // Bulk body: only C0 controls (and 0x9c in DCS passthrough) can end it.
                let avail = input.len() - i;
                let limit = if self.dropping {
                    avail
                } else {
                    avail.min(cap - self.str_len)
                };
                let k = find_string_end(&input[i..i + limit], self.state == State::DcsPass);
                if !self.dropping {
                    self.str_len += k;
                }
                i += k;
                if i == input.len() {
                    break;
                }
            }
            let b = input[i];
            match self.string_byte(b) {
                Step::Body => {
                    if !self.dropping {
                        if self.str_len < cap {
                            self.str_len += 1;
                        } else {
                            self.flush(input, run, i, out);
                            out.bytes(if self.state == State::Osc {
                                CAP_OSC
                            } else {
                                CAP_OTHER
                            });
                            self.dropping = true;
                        }
                    }
                    i += 1;
                }
                step => {
                    let ground = step == Step::Ground;
                    if self.dropping {
                        // The terminator is dropped with the string; vte is already in ground.
                        self.dropping = false;
                        *run = i + 1;
                        self.state = if ground {
                            State::Ground
                        } else {
                            State::DropEsc
                        };
                    } else if ground {
                        self.state = State::Ground;
                    } else {
                        self.enter_escape();
                    }
                    return i + 1;
                }
            }
        }
        if self.dropping {
            *run = i;
        }
        i
    }

    /// vte's handling of byte `b` in the string states: updates the DCS sub-state and says
    /// whether the string goes on or ends.
    pub(super) fn string_byte(&mut self, b: u8) -> Step {
        match (self.state, b) {
            (_, CAN | SUB) => return Step::Ground,
            (_, ESC) => return Step::Escape,
            (State::Osc, BEL) | (State::DcsPass, ST_C1) => return Step::Ground,
            (State::DcsEntry, 0x30..=0x3f) => self.state = State::DcsParam,
            (State::DcsParam, 0x3c..=0x3f) | (State::DcsInter, 0x30..=0x3f) => {
                self.state = State::DcsIgnore
            }
            (State::DcsEntry | State::DcsParam, 0x20..=0x2f) => self.state = State::DcsInter,
            (State::DcsEntry | State::DcsParam | State::DcsInter, 0x40..=0x7e) => {
                self.state = State::DcsPass
            }
            _ => {}
        }
        Step::Body
    }
}
