//! /proc sampling of each session's process tree (placeholder).
