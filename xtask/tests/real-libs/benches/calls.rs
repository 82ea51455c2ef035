fn main() {
    println!("bench: {}", real_libs::run().unwrap());
}
