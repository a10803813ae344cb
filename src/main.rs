fn main() {
    println!("memmux");
}
