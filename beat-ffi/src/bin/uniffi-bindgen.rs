//! uniffi's bindings generator, pinned to the library's uniffi version (see bindings/README.md).

fn main() {
    uniffi::uniffi_bindgen_main()
}
