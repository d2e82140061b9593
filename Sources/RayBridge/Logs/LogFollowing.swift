import Logging
import RayBridgeClients
import RayBridgeCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What the log followers tell the reconciler's loop while they run (their end is their task's
/// result).
public enum FollowEvent: Sendable {
    /// Where a run's log shipment stands (after every part, failure and completion).
    case progress(submissionId: String, StatusSnapshot.LogShipment)
    /// A follower asked Ray for the run's state (it does when the log goes quiet): it ended, sooner
    /// than the reconciler's poll would see, or it goes on, and that poll can wait.
    case runState(RayJobDetails)
}

/// Runs Ray lost: their shipments complete the object with what they read, at their next failed
/// read of Ray (or at once when they start). The loop is told (`LogOrder.abandon`) while the
/// shipment runs, so the two share this set rather than a message: a shipment asks it only when a
/// read fails, and must not lose the bytes it holds by being restarted.
public final class AbandonedRuns: Sendable {
    private let ids = Mutex<Set<String>>([])

    public init() {}

    public func insert(_ submissionId: String) { _ = ids.withLock { $0.insert(submissionId) } }
    public func contains(_ submissionId: String) -> Bool { ids.withLock { $0.contains(submissionId) } }
}

/// How a run's driver log is followed: shipped to S3 until its object is complete (`ship`), or,
/// without S3, only watched to notice the run's end quickly (`watch`). Each call runs until its work
/// is over or its task is cancelled (a cancelled shipment leaves its upload resumable): the
/// reconciler's loop runs them as child tasks. Ray, S3 and the clock are given, so that the loop
/// runs against fakes on a test clock.
public struct LogFollowing<C: Clock>: Sendable where C.Duration == Duration {
    public typealias RayReader = @Sendable (URL) -> any RayJobsReading
    public typealias S3Connection = @Sendable (S3Settings) -> any S3Multipart

    let store: LogUploadStore
    let configuration: LogShippingConfiguration
    let ray: RayReader
    let s3: S3Connection
    /// Whether a Ray token is configured: a file read, asked only for the releases where it
    /// changes where the log is read from.
    let tokenAuth: @Sendable () -> Bool
    let clock: C
    /// Wall time: a run's age (Ray's `start_time`) paces the checks for its end.
    let date: @Sendable () -> Date
    let logger: Logger
    /// The last failure to refresh temporary S3 credentials, shown with each shipment.
    let credentialError: @Sendable () -> String?
    /// Where `--driver-log-stdout` prints.
    let output: any LogOutput

    public init(
        statusDirectory: String, configuration: LogShippingConfiguration, ray: @escaping RayReader, s3: @escaping S3Connection,
        tokenAuth: @escaping @Sendable () -> Bool = { false }, clock: C, date: @escaping @Sendable () -> Date = { Date() }, logger: Logger,
        credentialError: @escaping @Sendable () -> String? = { nil }, output: any LogOutput = StandardOutput.shared
    ) {
        self.output = output
        self.store = LogUploadStore(directory: statusDirectory)
        self.configuration = configuration
        self.ray = ray
        self.s3 = s3
        self.tokenAuth = tokenAuth
        self.clock = clock
        self.date = date
        self.logger = logger
        self.credentialError = credentialError
    }

    /// Uploads an earlier process left open.
    public func leftovers() -> [LeftoverUpload] {
        store.leftovers()
    }

    /// Runs whose log object an earlier process completed.
    public func completeLogs() -> Set<String> {
        store.completeLogs()
    }

    /// Ships the plan's log to S3 and/or standard output until it is complete (true), or until
    /// cancelled (false: what was uploaded and printed is on record, and the next start goes on).
    public func ship(
        _ plan: ReconcilerStateMachine.LogFollowPlan, abandoned: AbandonedRuns, news: @escaping @Sendable (FollowEvent) -> Void
    ) async -> Bool {
        let id = plan.submissionId
        var logger = logger
        logger[metadataKey: "submission"] = "\(id)"
        let session = plan.ship.map { settings in
            let key = settings.logKey(submissionId: id)
            logger.info("shipping the driver log", metadata: ["destination": "s3://\(settings.bucket)/\(key)"])
            return MultipartUploadSession(
                submissionId: id, bucket: settings.bucket, key: key, rayURL: plan.rayURL, rayVersion: plan.rayVersion, s3: s3(settings),
                store: store, retryBackoff: configuration.retryBackoff, clock: clock, logger: logger, credentialError: credentialError,
                onProgress: { news(.progress(submissionId: id, $0)) })
        }
        let printer =
            plan.stdout
            ? StdoutPrinter(submissionId: id, rayURL: plan.rayURL, rayVersion: plan.rayVersion, output: output, store: store, logger: logger)
            : nil
        let follower = follower(plan, logger: logger)
        let shipment = LogShipment(
            session: session, printer: printer, configuration: configuration, compression: plan.ship?.compression ?? .none,
            follow: { follower(.exact(from: $0)) }, onRunState: { news(.runState($0)) }, abandoned: { abandoned.contains(id) }, clock: clock,
            logger: logger)
        await shipment.run()
        return await shipment.isComplete
    }

    /// Follows the run only to notice its end; returns once it was seen, or when cancelled.
    public func watch(_ plan: ReconcilerStateMachine.LogFollowPlan, news: @escaping @Sendable (FollowEvent) -> Void) async {
        do {
            for try await event in follower(plan, logger: logger)(.endOnly) {
                switch event {
                case .runEnded(let details), .runGoesOn(let details): news(.runState(details))
                case .interrupted(let reason):
                    logger.debug(
                        "cannot follow the driver log to notice the run's end; the poll goes on",
                        metadata: ["submission": "\(plan.submissionId)", "error": "\(reason)"])
                case .bytes: break
                }
            }
        } catch {
            // Cancelled: the run is no longer the one to watch.
        }
    }

    private func follower(_ plan: ReconcilerStateMachine.LogFollowPlan, logger: Logger) -> @Sendable (FollowMode) -> DriverLogFollower<C> {
        let ray = ray(plan.rayURL)
        let (configuration, clock, date, id) = (configuration, clock, date, plan.submissionId)
        let source = DriverLogSource.of(plan.rayVersion, tokenAuth: tokenAuth())
        return { mode in
            DriverLogFollower(
                submissionId: id, ray: ray, source: source, mode: mode, timing: configuration.followTiming,
                queueCapacity: configuration.queueCapacity, clock: clock, date: date, logger: logger)
        }
    }
}
