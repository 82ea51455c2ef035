fn main() {
    println!("example: {}", real_libs::run().unwrap());
}
