//! uniffi's bindings generator, pinned to beat-ffi's uniffi version (bindings/README.md).
//! Library mode: `uniffi-bindgen generate libbeat_ffi.so -l kotlin -o out/`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
