// The idiomatic layer over the generated bindings (BeatFFI.swift): committed epochs as an
// AsyncStream.
import Foundation

/// One committed epoch.
public struct Commit: Sendable {
    public let epoch: UInt64
    public let transactions: [Data]
}

/// A `CommitListener` whose commits arrive as an `AsyncStream`: pass it to `BeatNode.start`,
/// then `for await commit in stream.commits { … }`. Commits queue until consumed (the node
/// itself keeps at most 4,096 undelivered notifications); `finish()` ends the stream.
public final class CommitStream: CommitListener, @unchecked Sendable {
    public let commits: AsyncStream<Commit>
    private let continuation: AsyncStream<Commit>.Continuation

    public init() {
        var c: AsyncStream<Commit>.Continuation!
        commits = AsyncStream { c = $0 }
        continuation = c
    }

    public func onCommit(epoch: UInt64, transactions: [Data]) {
        continuation.yield(Commit(epoch: epoch, transactions: transactions))
    }

    /// End the stream.
    public func finish() {
        continuation.finish()
    }
}
