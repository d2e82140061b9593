import AsyncHTTPClient
import Foundation
import Logging
import RayBridgeClients
import RayBridgeCore

/// Executes what `ReconcilerStateMachine` decides. One loop reads one stream of events
/// (`ReconcilerEvent`: ConfigMap changes, timers, answers from Ray, the log follower's news),
/// hands each to the machine and executes the action it returns: a Ray call runs off the loop and
/// comes back as an event, a wait becomes a timer that comes back as an event. After every event
/// the journal is written if it changed, the status directory is published, and the log follower
/// is told which run to follow.
public actor Reconciler {
    public struct Configuration: Sendable {
        public var jobName: String
        public var statusDirectory: String
        public var rayCredentials: RayCredentials
        public var s3Credentials: S3CredentialsFile
        /// Where the rest of the S3 credential chain is looked up (the process's environment;
        /// empty: the Secret files only).
        public var s3Environment: [String: String]
        public var exitOnCompletion: Bool
        /// SIGTERM stops the current run too (by default the run goes on without us).
        public var stopOnExit: Bool
        public var logShipping: LogShippingConfiguration
        /// `--ca-file`: PEM trust roots added to the system's for https to Ray and S3.
        public var caFile: String?

        public init(
            jobName: String, statusDirectory: String, rayCredentials: RayCredentials,
            s3Credentials: S3CredentialsFile = S3CredentialsFile(directory: "/s3credentials"),
            exitOnCompletion: Bool = false, stopOnExit: Bool = false, logShipping: LogShippingConfiguration = .init(),
            caFile: String? = nil, s3Environment: [String: String] = [:]
        ) {
            self.caFile = caFile
            self.s3Environment = s3Environment
            self.stopOnExit = stopOnExit
            self.jobName = jobName
            self.statusDirectory = statusDirectory
            self.rayCredentials = rayCredentials
            self.s3Credentials = s3Credentials
            self.exitOnCompletion = exitOnCompletion
            self.logShipping = logShipping
        }
    }

    let configuration: Configuration
    let http: HTTPClient
    let trust: TrustRoots
    /// The Secret files, then the environment's source: asked before every S3 request.
    let s3Credentials: S3CredentialChain
    let health: HealthState
    let calls: RayCalls
    let statusWriter: AtomicDirectoryWriter
    let journalStore: JournalStore
    let parser: ConfigMapParser
    let logger: Logger
    var machine: ReconcilerStateMachine
    var events: AsyncStream<ReconcilerEvent>.Continuation?
    var following: LogFollowing?
    /// The plan the follower was last given (it is told only of changes).
    var followed: LogFollowPlan?
    /// The pending wait: its generation, so that a replaced timer's event is ignored.
    var timer: (generation: Int, task: Task<Void, Never>)?
    var timerGeneration = 0
    /// The Ray call in flight (the machine never asks for a second).
    var call: Task<Void, Never>?
    /// When the last ConfigMap change was seen, until the Ray call it causes is sent.
    var pendingReaction: ContinuousClock.Instant?
    /// Log progress per submission; the current run's is shown in the status.
    let shipments = ShipmentBoard()
    var publishedStatus: StatusSnapshot?
    var savedJournal: Journal?
    /// The `ray_version` label last exported, to be zeroed when the cluster changes.
    var reportedRayVersion: String?
    var rayFailures = ReasonLog()
    var preparationFailures = ReasonLog()
    var statusFailures = 0
    var statusRetry: Task<Void, Never>?
    /// Runs whose end was counted in the metrics, and lost runs whose log object was let go.
    var countedEnds: Set<String> = []
    var abandonedLogs: Set<String> = []

    public init(configuration: Configuration, http: HTTPClient = .shared, health: HealthState = HealthState(), logger: Logger) throws {
        self.configuration = configuration
        self.http = http
        self.trust = TrustRoots(caFile: configuration.caFile, logger: logger)
        self.health = health
        self.s3Credentials = S3CredentialChain(
            secretFiles: configuration.s3Credentials, environment: configuration.s3Environment, http: http, trust: trust, logger: logger)
        self.statusWriter = AtomicDirectoryWriter(directory: configuration.statusDirectory)
        self.journalStore = JournalStore(statusDirectory: configuration.statusDirectory)
        self.calls = RayCalls(
            jobName: configuration.jobName, credentials: configuration.rayCredentials, s3Credentials: s3Credentials, http: http, trust: trust)
        var logger = logger
        logger[metadataKey: "job"] = "\(configuration.jobName)"
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.statusDirectory, withIntermediateDirectories: true)
        var journal: Journal?
        do {
            journal = try journalStore.load()
        } catch {
            // The cluster's job list knows every run by its metadata: recovering from it is safe.
            logger.error("ignoring the journal; runs will be looked up on the Ray cluster", metadata: ["error": "\(error)"])
        }
        if let journal {
            logger.info("resuming from the journal", metadata: ["runs": "\(journal.runs.count)", "current": "\(journal.currentId ?? "-")"])
        } else {
            logger.info("no journal in the status directory: runs will be looked up on the Ray cluster")
        }
        self.machine = ReconcilerStateMachine(jobName: configuration.jobName, journal: journal, exitOnCompletion: configuration.exitOnCompletion)
        self.savedJournal = journal
        self.parser = ConfigMapParser(jobName: configuration.jobName)
        s3Credentials.announceSource()
    }

    /// Runs the loop until the snapshots end, the task is cancelled (SIGTERM), or
    /// `--exit-on-completion` finds the run terminal; returns the exit code in that last case.
    public func run(snapshots: AsyncStream<DirectorySnapshot>) async -> Int32? {
        let (stream, events) = AsyncStream.makeStream(of: ReconcilerEvent.self)
        self.events = events
        following = LogFollowing(
            statusDirectory: configuration.statusDirectory, rayCredentials: configuration.rayCredentials,
            s3Credentials: s3Credentials, http: http, trust: trust, configuration: configuration.logShipping, logger: logger,
            credentialError: { [health = s3Credentials.health] in health.lastError },
            onEvent: { [shipments] news in
                if case .progress(let id, let shipment) = news { shipments.record(id, shipment) }
                events.yield(.followed(news))
            })
        let feeder = Task {
            for await snapshot in snapshots { events.yield(.configChanged(snapshot)) }
            events.yield(.configEnded)
        }
        publish()
        var code: Int32?
        loop: for await event in stream {
            let action: ReconcilerStateMachine.Action
            switch event {
            case .configChanged(let snapshot): action = configChanged(snapshot)
            case .configEnded: break loop
            case .timerFired(let generation):
                guard generation == timer?.generation else { continue }
                timer = nil
                action = machine.wakeup(at: .now, date: Date())
            case .answered(let answer):
                call = nil
                action = handle(answer)
            case .followed(let news): action = handle(news)
            case .publishRetry:
                statusRetry = nil
                action = .none
            }
            if let exit = await execute(action) {
                code = exit
                break loop
            }
        }
        feeder.cancel()
        await shutDown(exiting: code != nil)
        return code
    }

    /// Executes `action`; returns the exit code when it is `.exit` (the log shipped first).
    func execute(_ action: ReconcilerStateMachine.Action) async -> Int32? {
        // Every action but `.none` replaces the pending wait (a request is waited for instead).
        if action != .none { cancelTimer() }
        // The journal names a submission before Ray hears of it.
        if case .submit = action, !persistJournal() {
            return await execute(
                machine.preparationFailed(
                    "cannot write the journal in \(configuration.statusDirectory); is the status directory writable?", retryable: true))
        }
        switch action {
        case .none: break
        case .sleep(let duration): arm(duration)
        case .exit(let code):
            await publishAndFollow()
            logger.info("run is terminal and --exit-on-completion is set; exiting once its log is shipped", metadata: ["exitCode": "\(code)"])
            await following?.drain()
            return code
        case .readVersion(let url): start { await $0.readVersion(url) }
        case .recover:
            guard let url = machine.activeSpec?.rayURL else { break }
            start { await $0.recover(url) }
        case .fetch(let id):
            guard let url = machine.clusterURL(of: id) else { break }
            start { await $0.fetch(id, on: url) }
        case .stop(let id):
            guard let url = machine.clusterURL(of: id) else { break }
            recordReaction()
            start { await $0.stop(id, on: url) }
        case .submit(let run, let spec):
            recordReaction()
            start { await $0.submit(run, spec, at: { Date() }) }
        }
        await publishAndFollow()
        return nil
    }

    private func start(_ body: @escaping @Sendable (RayCalls) async -> RayAnswer) {
        let (calls, events) = (calls, events)
        call = Task { events?.yield(.answered(await body(calls))) }
    }

    private func arm(_ duration: Duration) {
        timerGeneration += 1
        let (generation, events) = (timerGeneration, events)
        timer = (
            generation,
            Task {
                try? await Task.sleep(for: duration)
                guard !Task.isCancelled else { return }
                events?.yield(.timerFired(generation: generation))
            }
        )
    }

    func cancelTimer() {
        timer?.task.cancel()
        timer = nil
    }

    func configChanged(_ snapshot: DirectorySnapshot) -> ReconcilerStateMachine.Action {
        let result = parser.parse(snapshot)
        for warning in result.warnings { logger.warning("\(warning)") }
        RayBridgeMetrics.configReloaded()
        health.configRead()
        pendingReaction = snapshot.observedAt
        switch result {
        case .valid(let spec, _):
            logger.info(
                "ConfigMap read", metadata: ["revision": "\(spec.revision.short)", "kill": "\(spec.kill)", "attach": "\(spec.attachId ?? "-")"])
        case .invalid(let problems, _):
            RayBridgeMetrics.configInvalid()
            logger.error("ConfigMap is invalid; the current run is left as it is", metadata: ["problems": "\(problems.map(\.description))"])
        }
        return machine.configChanged(result, at: snapshot.observedAt, date: Date())
    }

    /// The time from the `..data` swap to the Ray call that acts on it.
    func recordReaction() {
        guard let seen = pendingReaction else { return }
        pendingReaction = nil
        RayBridgeMetrics.reaction(ContinuousClock.now - seen)
    }
}
