import Logging
import NIOCore
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One run's driver log as an `AsyncSequence`: its bytes (`.bytes`) and the news that the run is
/// over (`.runEnded`), for one submission. It waits for the driver, reads the stream or the file
/// endpoint as the cluster's `DriverLogSource` allows, asks Ray for the run's state only when the
/// log has gone quiet, finishes through the file endpoint once the run is over, and reconnects
/// with backoff. The sequence ends (nil) when the follow is done: in `.exact` mode the log is then
/// complete. It throws only `CancellationError`, when the consuming task is cancelled.
///
/// Each iteration starts its own reading; dropping the iterator stops it.
public struct DriverLogFollower<C: Clock>: AsyncSequence, Sendable where C.Duration == Duration {
    public typealias Element = DriverLogEvent

    let submissionId: String
    let ray: any RayJobsReading
    let source: DriverLogSource
    let mode: FollowMode
    let timing: FollowTiming
    let queueCapacity: Int
    let clock: C
    /// Wall time, to tell a run's age from Ray's `start_time` (the pace of the end check).
    let date: @Sendable () -> Date
    let logger: Logger

    /// `queueCapacity`: bytes read ahead of the consumer before the reading waits for it.
    public init(
        submissionId: String, ray: any RayJobsReading, source: DriverLogSource, mode: FollowMode,
        timing: FollowTiming = .init(), queueCapacity: Int = 1 << 20, clock: C, date: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.submissionId = submissionId
        self.ray = ray
        self.source = source
        self.mode = mode
        self.timing = timing
        self.queueCapacity = queueCapacity
        self.clock = clock
        self.date = date
        var logger = logger
        logger[metadataKey: "submission"] = "\(submissionId)"
        self.logger = logger
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(follower: self)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let follower: DriverLogFollower
        /// Started by the first `next()`, so that making an iterator costs nothing.
        var reading: FollowerReading?
        var done = false

        public mutating func next() async throws -> DriverLogEvent? {
            guard !done else { return nil }
            try Task.checkCancellation()
            let reading = self.reading ?? FollowerReading(engine: FollowerEngine(follower), capacity: follower.queueCapacity)
            self.reading = reading
            let item = await withTaskCancellationHandler {
                await reading.queue.pop()
            } onCancel: {
                reading.stop()
            }
            switch item {
            case .event(let event)? where !Task.isCancelled:
                return event
            case .finished? where !Task.isCancelled:
                done = true
                return nil
            default:
                done = true
                reading.stop()
                throw CancellationError()
            }
        }
    }
}

/// What a `DriverLogFollower` is for.
public enum FollowMode: Sendable, Equatable {
    /// Every byte of the log from `offset` on, exactly, ending once the run is over and its log
    /// complete (shipping).
    case exact(from: Int64)
    /// Only the end of the run, noticed quickly: Ray is asked at `FollowTiming`'s pace for the run's
    /// age (every 2.5 s while young, less often as it ages), the log is not read (a stream only as
    /// a sign of life cost Ray more than the checks it saved), and the sequence ends right after
    /// `.runEnded`.
    case endOnly
}

/// What a `DriverLogFollower` tells its consumer.
public enum DriverLogEvent: Sendable, Equatable {
    /// The next bytes of the log, in order, never a byte twice (Ray's replays are skipped).
    case bytes(ByteBuffer)
    /// The run is over, told once. It may overtake bytes still queued, and bytes may follow it: the
    /// rest of the log is read after the run ended. The sequence ends when the log is complete.
    case runEnded(RayJobDetails)
    /// A check found the run not over yet: news for whoever would otherwise poll Ray itself.
    case runGoesOn(RayJobDetails)
    /// Reading the log failed; the follower tries again after a backoff. For the status and logs.
    case interrupted(String)
}
