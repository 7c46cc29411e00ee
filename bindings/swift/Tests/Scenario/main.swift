// The SDK scenario in Swift (the same as bindings/python/tests and the Kotlin one): four
// members in one process over loopback with a Swift App, 200 transactions, the same state
// everywhere and every epoch once and in order; a member stopped and reopened from its data
// dir catching up; a member paused and resumed; typed errors; the built-in key-value app.
// Prints `ok <check>` or `FAIL <check>: <why>`; exits non-zero on any failure.
import BeatFFI
import Foundation

final class Notes: App, @unchecked Sendable {
    private let lock = NSLock()
    private var state: [String: String] = [:]
    private var next: UInt64 = 0
    private(set) var outOfOrder: [(UInt64, UInt64)] = []

    func apply(epoch: UInt64, transactions: [Data]) throws {
        lock.lock(); defer { lock.unlock() }
        if epoch != next { outOfOrder.append((next, epoch)) }
        next = epoch + 1
        for tx in transactions {
            let parts = String(decoding: tx, as: UTF8.self).split(separator: " ", maxSplits: 2).map(String.init)
            if parts.count == 3 && parts[0] == "set" { state[parts[1]] = parts[2] }
        }
    }

    func snapshot() throws -> Data {
        lock.lock(); defer { lock.unlock() }
        let lines = ["#next=\(next)"] + state.keys.sorted().map { "\($0)=\(state[$0]!)" }
        return Data(lines.joined(separator: "\n").utf8)
    }

    func restore(snapshot: Data) throws {
        lock.lock(); defer { lock.unlock() }
        let lines = String(decoding: snapshot, as: UTF8.self).split(separator: "\n").map(String.init)
        guard let head = lines.first, let n = UInt64(head.dropFirst("#next=".count)) else {
            throw AppError.Refused(reason: "not a snapshot")
        }
        next = n
        state = [:]
        for line in lines.dropFirst() {
            let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
            if kv.count == 2 { state[kv[0]] = kv[1] }
        }
    }

    func validate(transaction: Data) throws {
        if !String(decoding: transaction, as: UTF8.self).hasPrefix("set ") {
            throw AppError.Refused(reason: "a note is `set <key> <value>`")
        }
    }

    var notes: [String: String] { lock.lock(); defer { lock.unlock() }; return state }
    /// The state in one canonical string (a dictionary's own description has no fixed order).
    var canonical: String { let s = notes; return s.keys.sorted().map { "\($0)=\(s[$0]!)" }.joined(separator: ",") }
}

var failures = 0
func check(_ name: String, _ body: () throws -> Void) {
    do {
        try body()
        print("ok \(name)")
    } catch {
        failures += 1
        print("FAIL \(name): \(error)")
    }
}
struct Failed: Error, CustomStringConvertible { let description: String }
func ensure(_ cond: Bool, _ what: @autoclosure () -> String) throws { if !cond { throw Failed(description: what()) } }
func waitFor(_ what: String, seconds: Double = 90, _ cond: () -> Bool) throws {
    let end = Date().addingTimeInterval(seconds)
    while !cond() {
        if Date() > end { throw Failed(description: "timed out waiting for \(what)") }
        Thread.sleep(forTimeInterval: 0.05)
    }
}
func freePorts(_ n: Int) -> [Int] {
    // Ports the kernel hands out for an ephemeral bind, then released.
    (0..<n).map { _ in
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        close(fd)
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

let n = 4
let secrets = (0..<n).map { _ in Data((0..<32).map { _ in UInt8.random(in: 0...255) }) }
let ports = freePorts(n)
let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("beat-ffi-swift-\(getpid())")
func secret(_ i: Int) throws -> KeySecret { try KeySecret.rawKey(key: secrets[i]) }

do {
    let committee = try generateCommittee(
        spec: CommitteeSpec(variant: "BEAT0", addresses: ports.map { "127.0.0.1:\($0)" }),
        secrets: try (0..<n).map(secret))
    func settings(_ i: Int, _ dir: String, _ s: KeySecret) -> NodeSettings {
        NodeSettings(dataDir: tmp.appendingPathComponent(dir).path, clusterFile: committee.clusterFile,
                     keyFile: committee.keyFiles[i], secret: s, snapshotEvery: 8)
    }

    check("cluster info") {
        let info = try clusterInfo(clusterFile: committee.clusterFile)
        try ensure(info.n == 4 && info.f == 1 && info.variant == "BEAT0", "\(info)")
    }

    check("four members agree; restart, pause and resume") {
        var apps = (0..<n).map { _ in Notes() }
        let stream = CommitStream()
        var nodes = try (0..<n).map {
            try BeatNode.start(settings: settings($0, "n\($0)", try secret($0)), app: apps[$0], listener: $0 == 0 ? stream : nil)
        }
        func submit(_ range: Range<Int>, _ members: [Int]) throws {
            for k in range {
                while true {
                    do { try nodes[members[k % members.count]].submit(transaction: Data("set k\(k) v\(k)".utf8)); break }
                    catch BeatError.Refused(let message) where message.contains("queue full") { Thread.sleep(forTimeInterval: 0.05) }
                }
            }
        }
        try submit(0..<200, [0, 1, 2, 3])
        try waitFor("200 notes everywhere") { apps.allSatisfy { $0.notes.count == 200 } }
        try waitFor("the same state everywhere") { Set(apps.map { $0.canonical }).count == 1 }
        try waitFor("node 0 running", seconds: 30) { nodes[0].status().state == .running }
        // The AsyncStream delivers the commits, epoch 0 first.
        let first = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var epoch: UInt64? }
        let box = Box()
        Task {
            for await commit in stream.commits { box.epoch = commit.epoch; break }
            first.signal()
        }
        try ensure(first.wait(timeout: .now() + 30) == .success && box.epoch == 0, "first commit: \(String(describing: box.epoch))")

        try nodes[3].stop()
        do { try nodes[3].submit(transaction: Data("set after stop 1".utf8)); throw Failed(description: "submit after stop") }
        catch BeatError.Stopped(_) {}
        try submit(200..<250, [0, 1, 2])
        try waitFor("250 at three") { (0..<3).allSatisfy { apps[$0].notes.count == 250 } }
        apps[3] = Notes()
        nodes[3] = try BeatNode.start(settings: settings(3, "n3", try secret(3)), app: apps[3], listener: nil)
        try submit(250..<260, [0, 1, 2, 3])
        try waitFor("member 3 caught up") { apps[3].notes.count == 260 }

        try nodes[2].pause()
        try ensure(nodes[2].status().state == .paused, "\(nodes[2].status())")
        try submit(260..<280, [0, 1, 3])
        try waitFor("280 at three") { [0, 1, 3].allSatisfy { apps[$0].notes.count == 280 } }
        try nodes[2].resume()
        try nodes[1].networkChanged()
        try submit(280..<290, [0, 1, 2, 3])
        try waitFor("290 everywhere") { apps.allSatisfy { $0.notes.count == 290 } }
        try waitFor("the same state again") { Set(apps.map { $0.canonical }).count == 1 }
        try ensure(apps.allSatisfy { $0.outOfOrder.isEmpty }, "epochs out of order: \(apps.map { $0.outOfOrder })")
        do { try nodes[0].submit(transaction: Data("delete everything".utf8)); throw Failed(description: "accepted") }
        catch BeatError.Refused(let message) { try ensure(message.contains("a note is"), message) }
        for node in nodes { try node.stop() }
    }

    check("error paths are typed with readable messages") {
        do { _ = try BeatNode.start(settings: settings(0, "a", try secret(1)), app: Notes(), listener: nil); throw Failed(description: "wrong key accepted") }
        catch BeatError.KeyFile(_) {}
        var bad = settings(0, "b", try secret(0))
        bad.clusterFile = Data("nonsense".utf8)
        do { _ = try BeatNode.start(settings: bad, app: Notes(), listener: nil); throw Failed(description: "bad cluster accepted") }
        catch BeatError.ClusterFile(_) {}
        do { _ = try KeySecret.rawKey(key: Data([1, 2, 3])); throw Failed(description: "short key accepted") }
        catch BeatError.Config(let message) { try ensure(message.contains("32 bytes"), message) }
    }

    check("start and stop leave no threads behind") {
        func threads() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? "Threads: 0"
            return Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "0") ?? 0
        }
        func cycle() throws { try BeatNode.start(settings: settings(0, "loop", try secret(0)), app: KvApp(), listener: CommitStream()).stop() }
        for _ in 0..<3 { try cycle() }
        Thread.sleep(forTimeInterval: 0.5)
        let base = threads()
        try ensure(base > 1, "the thread count is unreadable (\(base))")
        for _ in 0..<20 { try cycle() }
        try waitFor("threads back to the baseline", seconds: 10) { threads() <= base }
    }

    check("the built-in key-value app") {
        let kvs = (0..<n).map { _ in KvApp() }
        let nodes = try (0..<n).map { try BeatNode.start(settings: settings($0, "kv\($0)", try secret($0)), app: kvs[$0], listener: nil) }
        for k in 0..<20 { try nodes[k % n].submit(transaction: Data("set colour\(k) blue\(k)".utf8)) }
        try waitFor("20 keys everywhere") { kvs.allSatisfy { $0.len() == 20 } }
        try ensure(Set(kvs.map { $0.get(key: "colour7") }) == ["blue7"], "values differ")
        for node in nodes { try node.stop() }
    }
} catch {
    failures += 1
    print("FAIL setup: \(error)")
}
try? FileManager.default.removeItem(at: tmp)
print(failures == 0 ? "swift: all checks passed" : "swift: \(failures) checks failed")
exit(failures == 0 ? 0 : 1)
