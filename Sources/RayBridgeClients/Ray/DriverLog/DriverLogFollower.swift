import Logging
import RayBridgeCore

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
    let logger: Logger

    /// `queueCapacity`: bytes read ahead of the consumer before the reading waits for it.
    public init(
        submissionId: String, ray: any RayJobsReading, source: DriverLogSource, mode: FollowMode,
        timing: FollowTiming = .init(), queueCapacity: Int = 1 << 20, clock: C, logger: Logger
    ) {
        self.submissionId = submissionId
        self.ray = ray
        self.source = source
        self.mode = mode
        self.timing = timing
        self.queueCapacity = queueCapacity
        self.clock = clock
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
