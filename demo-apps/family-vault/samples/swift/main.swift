// The family vault from a Swift app, through the mobile SDK (beat-ffi): what an iOS app's
// storage screen calls, here for four phones in one process on loopback. Each call blocks (it
// may fetch pieces from the other phones): on iOS, call them off the main actor.
//
// Compiled and run by scripts/bindings.sh (Swift in a Debian chroot) against the freshly built
// library; prints `ok <step>` per step and exits non-zero on a failure.
import BeatFFI
import Foundation

func step(_ name: String, _ ok: Bool) {
    print(ok ? "ok vault \(name)" : "FAIL vault \(name)")
    if !ok { exit(1) }
}

func waitUntil(_ f: () throws -> Bool) rethrows {
    for _ in 0..<400 {
        if try f() { return }
        usleep(50_000)
    }
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vault-sample-\(getpid())")
let names = ["Mom", "Dad", "Kid", "Grandma"]
// Loopback ports below Linux's range for outgoing connections (32768 and up).
let base = UInt16(20000 + (Int(getpid()) &* 7919 &+ Int(time(nil))) % 12000)
try? FileManager.default.removeItem(at: dir)

do {
    // 1. One phone (or a computer) sets up the family; each phone gets its bundle.
    let bundles = try vaultInit(
        outDir: dir.appendingPathComponent("family").path,
        spec: VaultFamilySpec(
            family: "The Examples", members: names, hosts: ["127.0.0.1"], basePort: base,
            storageVariant: "beat3", capacityBytes: 1 << 30, heartbeatMs: 500))
    step("init: \(bundles.count) bundles", bundles.count == 4)
    var phones: [FamilyVault] = []
    for (i, b) in bundles.enumerated() {
        let home = dir.appendingPathComponent("phone\(i)").path
        try vaultJoin(bundleDir: b, homeDir: home)
        phones.append(try FamilyVault.start(homeDir: home))
    }
    step("four phones started", phones.count == 4)

    // 2. Mom uploads a photo; the write is queued at once and commits when the family agrees.
    let photo = Data((0..<300_000).map { UInt8(($0 * 31) % 251) })
    let op = try phones[0].put(path: "/Photos/beach.jpg", data: photo, baseVersion: nil)
    let done = try phones[0].awaitOutcome(operation: op, timeoutMs: 60_000)
    step("upload committed", done != nil && done!.refused == nil && !done!.conflict)

    // 3. Dad's phone lists it and downloads it (pieces from any two phones, checked by SHA-256).
    try waitUntil { try !phones[1].list().isEmpty }
    let listed = try phones[1].list()
    step("listed on Dad's phone", listed.map { $0.path } == ["/Photos/beach.jpg"])
    let downloaded = try phones[1].get(path: "/Photos/beach.jpg", version: nil)
    step("downloaded on Dad's phone", downloaded == photo)
    let part = try phones[1].getRange(path: "/Photos/beach.jpg", offset: 1000, length: 10)
    step("a range read", part == photo.subdata(in: 1000..<1010))

    // 4. Dad edits it (naming the version he saw), then looks at the versions.
    let v1 = listed[0].version
    let edit = try phones[1].awaitOutcome(
        operation: try phones[1].put(path: "/Photos/beach.jpg", data: Data("cropped".utf8), baseVersion: v1),
        timeoutMs: 60_000)
    step("new version", (edit?.version ?? 0) > v1)
    let versions = try phones[1].versions(path: "/Photos/beach.jpg")
    step("versions listed (\(versions.count))", versions.count == 2 && versions[0].current)

    // 5. Kid deletes it by mistake; Grandma restores the first version from the trash.
    try waitUntil { try phones[2].list().contains { $0.version == edit!.version! } }
    let rm = try phones[2].awaitOutcome(
        operation: try phones[2].remove(path: "/Photos/beach.jpg", baseVersion: edit!.version!), timeoutMs: 60_000)
    step("moved to the trash", rm != nil && rm!.refused == nil)
    try waitUntil { try phones[3].list().isEmpty }
    let back = try phones[3].awaitOutcome(
        operation: try phones[3].restore(path: "/Photos/beach.jpg", version: v1), timeoutMs: 60_000)
    let restored = try phones[3].get(path: "/Photos/beach.jpg", version: nil)
    step("restored from the trash", back != nil && back!.refused == nil && restored == photo)

    // 6. A bad request is a typed error with a message that says what to fix.
    do {
        _ = try phones[0].put(path: "no-leading-slash", data: Data([1]), baseVersion: nil)
        step("bad path refused", false)
    } catch BeatError.Refused(let message) {
        step("bad path refused: \(message)", true)
    }

    // 7. The health screen.
    try waitUntil { try phones[0].health().allSafe }
    let health = try phones[0].health()
    step("health: \(health.status)", health.allSafe && health.phones.count == 4)
    for p in phones { p.stop() }
    try? FileManager.default.removeItem(at: dir)
} catch {
    print("FAIL vault: \(error)")
    exit(1)
}
