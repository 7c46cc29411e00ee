#!/usr/bin/env bash
# iOS XCFramework and Swift package for BEAT (not run on the development machine: it needs
# macOS with Xcode). Needs rustup targets aarch64-apple-ios aarch64-apple-ios-sim
# x86_64-apple-ios.
#
# 1. builds libbeat_ffi.a for the device and both simulator architectures with the size
#    profile (`mobile`), the simulator slices joined with lipo;
# 2. generates the Swift bindings (BeatFFI.swift + the BeatFFIC module: header and modulemap);
# 3. xcodebuild -create-xcframework, and a Package.swift whose binaryTarget is the framework.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT="${1:-target/ios}"
rm -rf "$OUT" && mkdir -p "$OUT/headers" "$OUT/Sources/BeatFFI"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build --profile mobile -p beat-ffi --target "$t"
done
mkdir -p target/ios-sim
lipo -create target/aarch64-apple-ios-sim/mobile/libbeat_ffi.a target/x86_64-apple-ios/mobile/libbeat_ffi.a \
  -output target/ios-sim/libbeat_ffi.a
cargo build --release --manifest-path tools/uniffi-bindgen/Cargo.toml --target-dir target/uniffi-bindgen
target/uniffi-bindgen/release/uniffi-bindgen generate target/aarch64-apple-ios/mobile/libbeat_ffi.a -l swift -o "$OUT/gen"
cp "$OUT/gen/BeatFFIC.h" "$OUT/headers/"
cp "$OUT/gen/BeatFFIC.modulemap" "$OUT/headers/module.modulemap"
cp "$OUT/gen/BeatFFI.swift" "$OUT/Sources/BeatFFI/"
cp bindings/swift/Sources/BeatFFI/Commits.swift "$OUT/Sources/BeatFFI/" 2>/dev/null || true
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/mobile/libbeat_ffi.a -headers "$OUT/headers" \
  -library target/ios-sim/libbeat_ffi.a -headers "$OUT/headers" \
  -output "$OUT/BeatFFIC.xcframework"
cat > "$OUT/Package.swift" <<'SWIFT'
// swift-tools-version:5.9
import PackageDescription
let package = Package(
    name: "BeatFFI",
    platforms: [.iOS(.v15)],
    products: [.library(name: "BeatFFI", targets: ["BeatFFI"])],
    targets: [
        .binaryTarget(name: "BeatFFIC", path: "BeatFFIC.xcframework"),
        .target(name: "BeatFFI", dependencies: ["BeatFFIC"]),
    ]
)
SWIFT
echo "Swift package in $OUT (add it in Xcode: File > Add Package Dependencies > Add Local)"
