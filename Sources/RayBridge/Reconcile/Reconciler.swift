import AsyncHTTPClient
import Logging
import RayBridgeClients
import RayBridgeCore
import ServiceLifecycle
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Executes what `ReconcilerStateMachine` decides.
///
/// One loop and one task group, in the shape of swift-service-lifecycle's `ServiceGroup`: the
/// ConfigMap watch, the graceful-shutdown signal, the one Ray call, the timer, every log shipment
/// and the followers' news channel run as child tasks, and each child's result is the loop's next
/// event. The loop hands the event to the machine, executes the action it returns, and keeps only
/// what executing needs (which child to call off, a status write to retry): nothing it decides on.
///
/// Generic over the clock, so that its tests run on a test clock against a fake cluster and bucket.
public struct Reconciler<C: Clock>: Sendable where C.Duration == Duration {
    public typealias Machine = ReconcilerStateMachine

    let statusDirectory: String
    let machineConfiguration: Machine.Configuration
    let calls: any RayCalling
    let logs: LogFollowing<C>
    let clock: C
    /// Wall time, for the machine's deadlines and the status files.
    let date: @Sendable () -> Date
    let health: HealthState
    let logger: Logger
    let parser: ConfigMapParser
    let statusWriter: AtomicDirectoryWriter
    let journalStore: JournalStore

    public init(
        statusDirectory: String, machine: Machine.Configuration, calls: any RayCalling, logs: LogFollowing<C>, clock: C,
        date: @escaping @Sendable () -> Date = { Date() }, health: HealthState = HealthState(), logger: Logger
    ) throws {
        self.statusDirectory = statusDirectory
        self.machineConfiguration = machine
        self.calls = calls
        self.logs = logs
        self.clock = clock
        self.date = date
        self.health = health
        var logger = logger
        logger[metadataKey: "job"] = "\(machine.jobName)"
        self.logger = logger
        self.parser = ConfigMapParser(jobName: machine.jobName)
        self.statusWriter = AtomicDirectoryWriter(directory: statusDirectory)
        self.journalStore = JournalStore(statusDirectory: statusDirectory)
        try FileManager.default.createDirectory(atPath: statusDirectory, withIntermediateDirectories: true)
    }

    /// Runs until a graceful shutdown (SIGTERM) or the end of the snapshots has been drained, or
    /// `--exit-on-completion` saw the run end and its log shipped; returns the exit code in that
    /// last case.
    public func run(snapshots: AsyncStream<DirectorySnapshot>) async -> Int32? {
        let start = clock.now
        let moment = { Machine.Moment(elapsed: start.duration(to: clock.now), date: date()) }
        var machine = Machine(
            configuration: machineConfiguration, journal: loadJournal(), leftovers: logs.leftovers(), completeLogs: logs.completeLogs(),
            at: moment())
        let (news, newsInput) = AsyncStream.makeStream(of: FollowEvent.self)
        let abandoned = AbandonedRuns()
        var loop = Loop()

        return await withTaskGroup(of: Event.self, returning: Int32?.self) { group in
            group.addTask { .config(await Self.next(snapshots)) }
            group.addTask { .news(await Self.next(news)) }
            group.addTask {
                // Returns on SIGTERM (through the ServiceGroup), and when the task is cancelled.
                try? await gracefulShutdown()
                return .shutdownRequested
            }
            var action = machine.started(at: moment())
            while true {
                if let exit = execute(action, &machine, &loop, &group, moment: moment, abandoned: abandoned, news: newsInput) {
                    group.cancelAll()
                    newsInput.finish()
                    switch exit {
                    case .completed(let code):
                        logger.info("the run is over and its log shipped; exiting (--exit-on-completion)", metadata: ["exitCode": "\(code)"])
                        return code
                    case .shutDown:
                        logger.info("shut down")
                        return nil
                    }
                }
                // An event that asks nothing of the machine (a stale timer) executes nothing.
                action = .none
                guard let event = await group.next() else { return nil }
                switch event {
                case .config(let snapshot?):
                    group.addTask { .config(await Self.next(snapshots)) }
                    action = machine.configChanged(parse(snapshot, &loop), at: moment())
                case .config(nil):
                    logger.info("the ConfigMap watch ended; shutting down")
                    action = machine.shutdown(at: moment())
                case .shutdownRequested:
                    logger.info("shutting down: completing the logs of runs that are over, leaving the rest for the next start")
                    action = machine.shutdown(at: moment())
                case .timerFired(let generation):
                    // A wait that was called off (replaced or cancelled) reports too: not an event.
                    guard generation == loop.timerGeneration else { continue }
                    loop.timer = nil
                    action = machine.timerFired(at: moment())
                case .answered(let request, let reply):
                    observe(request, reply, &loop)
                    action = machine.answered(request, reply, at: moment())
                case .news(let item?):
                    group.addTask { .news(await Self.next(news)) }
                    switch item {
                    case .progress(let id, let shipment): action = machine.logProgress(id, shipment, at: moment())
                    case .runState(let details):
                        if details.status.isTerminal {
                            logger.info(
                                "the driver log went quiet and Ray says the run is \(details.status.rawValue)",
                                metadata: ["submission": "\(details.submissionId ?? "-")"])
                        }
                        action = machine.noticed(details, at: moment())
                    }
                case .news(nil):
                    continue
                case .shipmentEnded(let id, let complete):
                    loop.shipments[id] = nil
                    action = machine.shipmentEnded(id, complete: complete, at: moment())
                case .watchEnded(let id):
                    loop.watches[id] = nil
                    action = machine.watchEnded(id, at: moment())
                case .publishRetry:
                    loop.statusRetryPending = false
                    writeStatus(&loop, &group)
                    continue
                }
            }
        }
    }

    // MARK: - The loop's events and bookkeeping

    private enum Event: Sendable {
        /// The kubelet swapped `..data` (or the first read); nil: the watch ended.
        case config(DirectorySnapshot?)
        case shutdownRequested
        /// The wait of this generation is over (or was called off: a stale generation).
        case timerFired(generation: Int)
        case answered(RayRequest, RayReply)
        /// A follower's news; nil once the channel is finished.
        case news(FollowEvent?)
        case shipmentEnded(String, complete: Bool)
        case watchEnded(String)
        /// The status directory refused a write; its backoff is over.
        case publishRetry
    }

    /// What executing needs to remember between events.
    private struct Loop {
        var timer: CallOff?
        var timerGeneration = 0
        var shipments: [String: CallOff] = [:]
        var watches: [String: CallOff] = [:]
        /// The newest status not yet written (the directory refused it); retried after a backoff.
        var unwrittenStatus: StatusSnapshot?
        var statusRetryPending = false
        var statusFailures = 0
        var written: StatusSnapshot?
        /// When the last ConfigMap change was seen, until the Ray call it causes is sent.
        var pendingReaction: ContinuousClock.Instant?
        var rayFailures = ReasonLog()
        var preparationFailures = ReasonLog()
        /// The `ray_version` label last exported, to be zeroed when the cluster changes.
        var reportedRayVersion: String?
    }

    private static func next<T: Sendable>(_ stream: AsyncStream<T>) async -> T? {
        // One iterator at a time: each child that reads the stream is the only reader until it
        // returns, and the loop adds the next one only then.
        var iterator = stream.makeAsyncIterator()
        return await iterator.next()
    }

    // MARK: - Executing an action

    /// Executes `action`; returns the exit once the machine says it is over.
    private func execute(
        _ action: Machine.Action, _ machine: inout Machine, _ loop: inout Loop, _ group: inout TaskGroup<Event>,
        moment: () -> Machine.Moment, abandoned: AbandonedRuns, news: AsyncStream<FollowEvent>.Continuation
    ) -> Machine.Action.Exit? {
        var action = action
        while true {
            if let anomaly = action.anomaly { logger.error("\(anomaly)") }
            for end in action.ended {
                RayBridgeMetrics.runEnded(status: end.status, outcome: end.outcome, duration: end.duration)
                logger.info("run ended", metadata: ["submission": "\(end.submissionId)", "attempt": "\(end.attempt)", "outcome": "\(end.outcome)"])
            }
            var request = action.request
            var followUp: Machine.Action?
            if let journal = action.journal {
                do {
                    try journalStore.save(journal)
                } catch {
                    logger.error("cannot write the journal", metadata: ["path": "\(journalStore.path)", "error": "\(error)"])
                    // The journal names a submission before Ray hears of it: no journal, no POST.
                    if case .submit = request { request = nil }
                    followUp = machine.journalNotWritten(
                        "cannot write the journal in \(statusDirectory); is the status directory writable? (\(error))", at: moment())
                }
            }
            switch action.timer {
            case .keep: break
            case .cancel: callOffTimer(&loop)
            case .arm(let duration):
                callOffTimer(&loop)
                let handle = CallOff()
                let (generation, clock) = (loop.timerGeneration, clock)
                loop.timer = handle
                group.addTask {
                    await handle.run { try? await clock.sleep(for: duration) }
                    return .timerFired(generation: generation)
                }
            }
            if let request {
                switch request {
                case .submit, .stop:
                    if let seen = loop.pendingReaction {
                        loop.pendingReaction = nil
                        RayBridgeMetrics.reaction(ContinuousClock.now - seen)
                    }
                case .readVersion, .listJobs, .fetch, .delete: break
                }
                let calls = calls
                group.addTask { .answered(request, await calls.perform(request)) }
            }
            if let status = action.status {
                loop.unwrittenStatus = status
                if !loop.statusRetryPending { writeStatus(&loop, &group) }
            }
            for order in action.logs { carryOut(order, &loop, &group, abandoned: abandoned, news: news) }
            if let exit = action.exit { return exit }
            guard let next = followUp else { return nil }
            action = next
        }
    }

    private func callOffTimer(_ loop: inout Loop) {
        loop.timer?.callOff()
        loop.timer = nil
        loop.timerGeneration += 1
    }

    private func carryOut(
        _ order: Machine.LogOrder, _ loop: inout Loop, _ group: inout TaskGroup<Event>, abandoned: AbandonedRuns,
        news: AsyncStream<FollowEvent>.Continuation
    ) {
        let logs = logs
        switch order {
        case .ship(let plan):
            let handle = CallOff()
            loop.shipments[plan.submissionId] = handle
            group.addTask {
                let complete = await handle.run { await logs.ship(plan, abandoned: abandoned, news: { news.yield($0) }) }
                return .shipmentEnded(plan.submissionId, complete: complete)
            }
        case .leave(let id, let reason):
            logger.info("leaving the driver log's shipment open: \(reason)", metadata: ["submission": "\(id)"])
            loop.shipments[id]?.callOff()
        case .abandon(let id):
            logger.warning("Ray no longer knows the run; its log object is completed as it is", metadata: ["submission": "\(id)"])
            abandoned.insert(id)
        case .watch(let plan):
            let handle = CallOff()
            loop.watches[plan.submissionId] = handle
            group.addTask {
                await handle.run { await logs.watch(plan, news: { news.yield($0) }) }
                return .watchEnded(plan.submissionId)
            }
        case .unwatch(let id):
            loop.watches[id]?.callOff()
        }
    }

    /// Writes the newest status; a refusal is retried after a backoff, with whatever is newest then.
    private func writeStatus(_ loop: inout Loop, _ group: inout TaskGroup<Event>) {
        guard let status = loop.unwrittenStatus else { return }
        let changed = status.jobStatus != loop.written?.jobStatus || status.submissionId != loop.written?.submissionId
        // The gauge first: whoever sees the new status in the files finds it in /metrics too (set
        // after the write, a reader of both saw the file ahead of the metric on a busy machine).
        if changed { RayBridgeMetrics.jobStatus(status.jobStatus) }
        do {
            try statusWriter.write(StatusFiles.render(status, updatedAt: date()))
            loop.unwrittenStatus = nil
            if changed {
                logger.info("status", metadata: ["jobStatus": "\(status.jobStatus.rawValue)", "submission": "\(status.submissionId)"])
            }
            loop.written = status
            if loop.statusFailures > 0 { logger.info("the status directory is written again", metadata: ["failures": "\(loop.statusFailures)"]) }
            loop.statusFailures = 0
        } catch {
            loop.statusFailures += 1
            if loop.statusFailures == 1 {
                logger.error("cannot write the status directory; retrying with backoff", metadata: ["error": "\(error)"])
            }
            loop.statusRetryPending = true
            let (delay, clock) = (Backoff.standard.delay(afterFailures: loop.statusFailures), clock)
            group.addTask {
                try? await clock.sleep(for: delay)
                return .publishRetry
            }
        }
    }

    // MARK: - What events mean outside the machine: logs, metrics, health

    private func loadJournal() -> Journal? {
        do {
            if let journal = try journalStore.load() {
                logger.info("resuming from the journal", metadata: ["runs": "\(journal.runs.count)", "current": "\(journal.currentId ?? "-")"])
                return journal
            }
            logger.info("no journal in the status directory: runs will be looked up on the Ray cluster")
        } catch {
            // The cluster's job list knows every run by its metadata: recovering from it is safe.
            logger.error("ignoring the journal; runs will be looked up on the Ray cluster", metadata: ["error": "\(error)"])
        }
        return nil
    }

    private func parse(_ snapshot: DirectorySnapshot, _ loop: inout Loop) -> ConfigParseResult {
        let result = parser.parse(snapshot)
        for warning in result.warnings { logger.warning("\(warning)") }
        RayBridgeMetrics.configReloaded()
        health.configRead()
        loop.pendingReaction = snapshot.observedAt
        switch result {
        case .valid(let spec, _):
            logger.info(
                "ConfigMap read", metadata: ["revision": "\(spec.revision.short)", "kill": "\(spec.kill)", "attach": "\(spec.attachId ?? "-")"])
        case .invalid(let problems, _):
            RayBridgeMetrics.configInvalid()
            logger.error("ConfigMap is invalid; the current run is left as it is", metadata: ["problems": "\(problems.map(\.description))"])
        }
        return result
    }

    /// The log lines, metrics and health an answer of Ray means.
    private func observe(_ request: RayRequest, _ reply: RayReply, _ loop: inout Loop) {
        var metadata: Logger.Metadata = request.submissionId.map { ["submission": "\($0)"] } ?? [:]
        switch reply {
        case .version(let version):
            answered(&loop)
            let url = request.url?.absoluteString ?? "-"
            if let version {
                logger.info("connected to Ray", metadata: ["url": "\(url)", "rayVersion": "\(version)"])
                if version < RayVersion.oldestSupported {
                    logger.warning(
                        "Ray \(version) is older than \(RayVersion.oldestSupported), the oldest release raybridge is tested with; carrying on")
                }
            } else {
                logger.warning("Ray's /api/version names no release; assuming the newest", metadata: ["url": "\(url)"])
            }
            RayBridgeMetrics.rayVersion(version?.text, previous: loop.reportedRayVersion)
            loop.reportedRayVersion = version?.text
        case .jobs(let jobs):
            answered(&loop)
            logger.info("looked up earlier runs on the cluster", metadata: ["jobs": "\(jobs.count)"])
        case .job(let details):
            answered(&loop)
            metadata["status"] = "\(details.status.rawValue)"
            logger.debug("run status", metadata: metadata)
        case .submitted:
            answered(&loop)
            loop.preparationFailures.cleared()
            RayBridgeMetrics.submitted()
            if case .submit(_, let spec) = request { metadata["revision"] = "\(spec.revision.short)" }
            logger.info("submitted", metadata: metadata)
        case .stopSent(let wasRunning):
            answered(&loop)
            RayBridgeMetrics.stopped()
            metadata["wasRunning"] = "\(wasRunning)"
            logger.info("stop requested", metadata: metadata)
        case .deleted:
            answered(&loop)
            logger.info("deleted a finished run from the cluster (keepFinishedRuns)", metadata: metadata)
        case .notPrepared(let error):
            if loop.preparationFailures.changed(error.description) {
                metadata["error"] = "\(error)"
                metadata["retrying"] = "\(error.retryable)"
                logger.error("cannot prepare the submission", metadata: metadata)
            }
        case .failed(let error):
            switch (request, error) {
            case (.submit, .duplicateSubmission):
                logger.info("already submitted before a restart; attaching", metadata: metadata)
            case (.fetch, .notFound), (.delete, .notFound):
                // An intent that never reached Ray, a lost run, a run deleted already: the machine
                // says which.
                break
            case (.delete, _) where !error.meansUnreachable:
                metadata["error"] = "\(error)"
                logger.warning("cannot delete a finished run; it stays on the cluster", metadata: metadata)
            default:
                if loop.rayFailures.changed("\(request): \(error)") {
                    metadata["error"] = "\(error)"
                    logger.warning("cannot \(request); retrying with backoff (logged again only when the reason changes)", metadata: metadata)
                }
            }
            switch error {
            case .unreachable, .untrusted, .unauthorized, .server, .unusableHeaders:
                health.ray(reachable: false, problem: error.description)
                RayBridgeMetrics.retried("ray")
            case .notFound, .duplicateSubmission, .rejected:
                health.ray(reachable: true)
            }
        }
    }

    private func answered(_ loop: inout Loop) {
        health.ray(reachable: true)
        if loop.rayFailures.cleared() { logger.info("Ray answers again") }
    }
}

/// Lets the loop end one of its child tasks: `run` races the work against `callOff()`, and when the
/// loop calls it off the work is cancelled and waited for. A task group cannot cancel one child;
/// this keeps a replaced timer or a left shipment from lingering until the group ends.
final class CallOff: Sendable {
    private enum State {
        case armed
        case waiting(CheckedContinuation<Void, Never>)
        case calledOff
    }

    private enum Outcome<T: Sendable>: Sendable {
        case finished(T)
        case calledOff
    }

    private let state = Mutex(State.armed)

    func callOff() {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state = .calledOff }
            if case .waiting(let continuation) = state { return continuation }
            return nil
        }
        waiting?.resume()
    }

    /// Runs `work` until it ends, or until it is called off (then cancelled, and its result awaited).
    func run<T: Sendable>(_ work: @escaping @Sendable () async -> T) async -> T {
        await withTaskGroup(of: Outcome<T>.self) { group in
            group.addTask { .finished(await work()) }
            group.addTask {
                await self.calledOff()
                return .calledOff
            }
            var result: T?
            while let outcome = await group.next() {
                if case .finished(let value) = outcome { result = value }
                // Whichever ends first ends the other: the work when called off, the wait when done.
                group.cancelAll()
            }
            // The work's child always finishes, cancelled or not.
            return result!
        }
    }

    private func calledOff() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let already = state.withLock { state -> Bool in
                    if case .calledOff = state { return true }
                    state = .waiting(continuation)
                    return false
                }
                if already { continuation.resume() }
            }
        } onCancel: {
            callOff()
        }
    }
}

extension Reconciler where C == ContinuousClock {
    /// The sidecar's settings of the reconciler: the flags of `raybridge run`.
    public struct Settings: Sendable {
        public var machine: ReconcilerStateMachine.Configuration
        public var statusDirectory: String
        public var rayCredentials: RayCredentials
        public var s3Credentials: S3CredentialsFile
        /// Where the rest of the S3 credential chain is looked up (the process's environment;
        /// empty: the Secret files only).
        public var s3Environment: [String: String]
        public var logShipping: LogShippingConfiguration
        /// `--ca-file`: PEM trust roots added to the system's for https to Ray and S3.
        public var caFile: String?

        public init(
            machine: ReconcilerStateMachine.Configuration, statusDirectory: String, rayCredentials: RayCredentials,
            s3Credentials: S3CredentialsFile = S3CredentialsFile(directory: "/s3credentials"), s3Environment: [String: String] = [:],
            logShipping: LogShippingConfiguration = .init(), caFile: String? = nil
        ) {
            self.machine = machine
            self.statusDirectory = statusDirectory
            self.rayCredentials = rayCredentials
            self.s3Credentials = s3Credentials
            self.s3Environment = s3Environment
            self.logShipping = logShipping
            self.caFile = caFile
        }
    }

    /// The reconciler of a real sidecar: Ray and S3 over `http`, the wall clock.
    public init(settings: Settings, http: HTTPClient, health: HealthState, logger: Logger) throws {
        let trust = TrustRoots(caFile: settings.caFile, logger: logger)
        // The Secret files, then the environment's sources: asked before every S3 request.
        let s3Credentials = S3CredentialChain(
            secretFiles: settings.s3Credentials, environment: settings.s3Environment, http: http, trust: trust, logger: logger)
        s3Credentials.announceSource()
        let calls = RayCalls(
            jobName: settings.machine.jobName, credentials: settings.rayCredentials, s3Credentials: s3Credentials, http: http, trust: trust)
        let (rayCredentials, signsPayload) = (settings.rayCredentials, settings.logShipping.signsPayload)
        var shipping = logger
        shipping[metadataKey: "job"] = "\(settings.machine.jobName)"
        let logs = LogFollowing(
            statusDirectory: settings.statusDirectory, configuration: settings.logShipping,
            ray: { RayClient(baseURL: $0, credentials: rayCredentials, http: http, trust: trust) },
            s3: { s3Settings in
                var client = S3Client(settings: s3Settings, credentials: s3Credentials, http: http, trust: trust)
                client.signsPayload = signsPayload
                return client
            },
            tokenAuth: { rayCredentials.token() != nil }, clock: ContinuousClock(), logger: shipping,
            credentialError: { [health = s3Credentials.health] in health.lastError })
        try self.init(
            statusDirectory: settings.statusDirectory, machine: settings.machine, calls: calls, logs: logs, clock: ContinuousClock(),
            health: health, logger: logger)
    }
}
