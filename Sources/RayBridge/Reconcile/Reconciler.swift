import AsyncHTTPClient
import Foundation
import Logging

/// Executes what `ReconcilerStateMachine` decides: talks to Ray, sleeps, persists the journal
/// before every submission and publishes the status directory after every step.
public actor Reconciler {
    public struct Configuration: Sendable {
        public var jobName: String
        public var statusDirectory: String
        public var rayCredentials: RayCredentials
        public var s3Credentials: S3CredentialsFile
        public var exitOnCompletion: Bool
        /// SIGTERM stops the current run too (by default the run goes on without us).
        public var stopOnExit: Bool
        public var logShipping: LogShipper.Configuration
        /// `--ca-file`: PEM trust roots added to the system's for https to Ray and S3.
        public var caFile: String?

        public init(
            jobName: String, statusDirectory: String, rayCredentials: RayCredentials,
            s3Credentials: S3CredentialsFile = S3CredentialsFile(directory: "/s3credentials"),
            exitOnCompletion: Bool = false, stopOnExit: Bool = false, logShipping: LogShipper.Configuration = .init(),
            caFile: String? = nil
        ) {
            self.caFile = caFile
            self.stopOnExit = stopOnExit
            self.jobName = jobName
            self.statusDirectory = statusDirectory
            self.rayCredentials = rayCredentials
            self.s3Credentials = s3Credentials
            self.exitOnCompletion = exitOnCompletion
            self.logShipping = logShipping
        }
    }

    private let configuration: Configuration
    private let http: HTTPClient
    private let trust: TrustRoots
    private var shipping: LogShipping?
    private let health: HealthState
    /// When the last ConfigMap change was seen, until the Ray call it causes is sent.
    private var pendingReaction: ContinuousClock.Instant?
    /// Log progress per submission; the current run's is shown in the status.
    private var shipments: [String: StatusSnapshot.LogShipment] = [:]
    private let statusWriter: AtomicDirectoryWriter
    private let journalStore: JournalStore
    private var logger: Logger
    private var machine: ReconcilerStateMachine
    private let parser: ConfigMapParser
    private var publishedStatus: StatusSnapshot?
    private var savedJournal: Journal?
    private var timer: Task<Void, Never>?
    private var endWatch: (submissionId: String, task: Task<Void, Never>)?
    private var packagePins = PackagePins()
    private var lastPackage: (script: String, package: WorkingDirPackage)?
    private var timerGeneration = 0
    /// The `ray_version` label last exported, to be zeroed when the cluster changes.
    private var reportedRayVersion: String?
    private var exitContinuation: AsyncStream<Int32>.Continuation?
    private let exitCodes: AsyncStream<Int32>

    public init(configuration: Configuration, http: HTTPClient = .shared, health: HealthState = HealthState(), logger: Logger) throws {
        self.configuration = configuration
        self.http = http
        self.trust = TrustRoots(caFile: configuration.caFile, logger: logger)
        self.health = health
        self.statusWriter = AtomicDirectoryWriter(directory: configuration.statusDirectory)
        self.journalStore = JournalStore(statusDirectory: configuration.statusDirectory)
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
        (self.exitCodes, self.exitContinuation) = AsyncStream.makeStream(of: Int32.self)
    }

    /// Consumes ConfigMap snapshots until they end, the task is cancelled, or `--exit-on-completion`
    /// finds the run terminal; returns the exit code in that last case.
    public func run(snapshots: AsyncStream<DirectorySnapshot>) async -> Int32? {
        shipping = LogShipping(
            statusDirectory: configuration.statusDirectory, s3Credentials: configuration.s3Credentials,
            rayCredentials: configuration.rayCredentials, http: http, trust: trust, configuration: configuration.logShipping, logger: logger,
            onProgress: { [weak self] id, shipment in await self?.logProgress(id, shipment) },
            onTerminal: { [weak self] details in await self?.noticed(details) })
        publish()
        let exits = exitCodes
        let code = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await snapshot in snapshots {
                    await self.configChanged(snapshot)
                }
                return nil
            }
            group.addTask {
                for await code in exits { return code }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        timer?.cancel()
        exitContinuation?.finish()
        if code == nil, configuration.stopOnExit, let (run, details) = machine.currentRun, !(details?.status.isTerminal ?? false), let client {
            logger.info("--stop-on-exit: stopping the run", metadata: ["submission": "\(run.submissionId)"])
            await Self.stopBeforeExit(run.submissionId, client: client, logger: logger)
        }
        endWatch?.task.cancel()
        // SIGTERM: uploads stop where they are; their state is on disk for the next start.
        await shipping?.shutdown()
        persistJournal()
        publish()
        return code
    }

    /// The shutdown has cancelled this task, and a cancelled task's requests fail at once: the
    /// stop runs in a task of its own, bounded so that it fits the graceful shutdown period.
    private static func stopBeforeExit(_ submissionId: String, client: RayClient, logger: Logger) async {
        let outcome = await Task { () -> String? in
            await withTaskGroup(of: String?.self) { group in
                group.addTask {
                    do {
                        _ = try await client.stop(submissionId)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(3))
                    return "no answer from Ray within 3 s"
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }.value
        if let outcome {
            logger.error("cannot stop the run; it goes on without us", metadata: ["submission": "\(submissionId)", "error": "\(outcome)"])
        } else {
            logger.info("stop requested", metadata: ["submission": "\(submissionId)"])
        }
    }

    public func configChanged(_ snapshot: DirectorySnapshot) async {
        let result = parser.parse(snapshot)
        for warning in result.warnings { logger.warning("\(warning)") }
        RayBridgeMetrics.configReloaded()
        health.configRead()
        pendingReaction = snapshot.observedAt
        switch result {
        case .valid(let spec, _):
            logger.info("ConfigMap read", metadata: ["revision": "\(spec.revision.short)", "kill": "\(spec.kill)", "attach": "\(spec.attachId ?? "-")"])
        case .invalid(let problems, _):
            RayBridgeMetrics.configInvalid()
            logger.error("ConfigMap is invalid; the current run is left as it is", metadata: ["problems": "\(problems.map(\.description))"])
        }
        await drive(machine.configChanged(result))
    }

    private func wake(_ generation: Int) async {
        guard generation == timerGeneration else { return }
        // This runs on the timer's own task: it must not be cancelled by the drive it starts.
        timer = nil
        await drive(machine.wakeup())
    }

    private func drive(_ first: ReconcilerStateMachine.Action) async {
        timer?.cancel()
        timerGeneration += 1
        var action = first
        while true {
            if case .submit = action {
                // submit() persists the journal itself, while the package check is in flight; the
                // status files (an fsync per file) are published once the POST is out.
            } else {
                persistJournal()
                publish()
            }
            await ensureShipping()
            ensureEndWatch()
            switch action {
            case .none:
                return
            case .sleep(let duration):
                let generation = timerGeneration
                timer = Task { [weak self] in
                    try? await Task.sleep(for: duration)
                    guard !Task.isCancelled else { return }
                    await self?.wake(generation)
                }
                return
            case .exit(let code):
                logger.info("run is terminal and --exit-on-completion is set; exiting once its log is shipped", metadata: ["exitCode": "\(code)"])
                await ensureShipping()
                await shipping?.drain()
                exitContinuation?.yield(code)
                return
            case .readVersion(let url):
                action = await readVersion(url)
            case .recover:
                action = await recover()
            case .fetch(let id):
                action = await fetch(id)
            case .stop(let id):
                action = await stop(id)
            case .submit(let run, let spec):
                action = await submit(run, spec)
            }
        }
    }

    private var client: RayClient? {
        machine.activeSpec.map { rayClient($0.rayURL) }
    }

    func rayClient(_ url: URL) -> RayClient {
        RayClient(baseURL: url, credentials: configuration.rayCredentials, http: http, trust: trust)
    }

    /// Once per connection, and again after Ray was unreachable: what the cluster runs decides
    /// what may be sent to it and how its log reads.
    private func readVersion(_ url: URL) async -> ReconcilerStateMachine.Action {
        let client = rayClient(url)
        do {
            let version = try await client.version()
            rayAnswered()
            if let version {
                logger.info("connected to Ray", metadata: ["url": "\(url.absoluteString)", "rayVersion": "\(version)"])
                if version < RayVersion.oldestSupported {
                    logger.warning("Ray \(version) is older than \(RayVersion.oldestSupported), the oldest release raybridge is tested with; carrying on")
                }
            } else {
                logger.warning("Ray's /api/version names no release; assuming the newest", metadata: ["url": "\(url.absoluteString)"])
            }
            RayBridgeMetrics.rayVersion(version?.text, previous: reportedRayVersion)
            reportedRayVersion = version?.text
            return machine.versionRead(version, at: url)
        } catch {
            logger.warning("cannot read Ray's version", metadata: ["url": "\(url.absoluteString)", "error": "\(error)"])
            return failed(error)
        }
    }

    private func recover() async -> ReconcilerStateMachine.Action {
        guard let client else { return .none }
        do {
            let jobs = try await client.jobs()
            rayAnswered()
            let action = machine.recovered(jobs)
            logger.info("looked up earlier runs on the cluster", metadata: ["found": "\(machine.journal.runs.count)", "current": "\(machine.currentRun?.run.submissionId ?? "-")"])
            return action
        } catch {
            logger.warning("cannot list the cluster's jobs", metadata: ["error": "\(error)"])
            return failed(error)
        }
    }

    private func fetch(_ id: String) async -> ReconcilerStateMachine.Action {
        guard let client else { return .none }
        do {
            let details = try await client.job(id)
            rayAnswered()
            if details.status != machine.currentRun?.details?.status {
                logger.info("run status", metadata: ["submission": "\(id)", "status": "\(details.status.rawValue)"])
            }
            return machine.observed(details)
        } catch {
            if case .notFound = error {} else {
                logger.warning("cannot read the run's state", metadata: ["submission": "\(id)", "error": "\(error)"])
            }
            return failed(error)
        }
    }

    private func stop(_ id: String) async -> ReconcilerStateMachine.Action {
        guard let client else { return .none }
        do {
            recordReaction()
            let stopped = try await client.stop(id)
            rayAnswered()
            RayBridgeMetrics.stopped()
            logger.info("stop requested", metadata: ["submission": "\(id)", "wasRunning": "\(stopped)"])
            return machine.stopSent()
        } catch {
            logger.warning("cannot stop the run", metadata: ["submission": "\(id)", "error": "\(error)"])
            return failed(error)
        }
    }

    private func submit(_ run: RunRecord, _ spec: JobSpec) async -> ReconcilerStateMachine.Action {
        let client = rayClient(spec.rayURL)
        let body: [String: JSONValue]
        do {
            let (script, extras) = try await resolve(spec)
            let package = try script.map { try workingDirPackage($0) }
            // The package check (a round trip to Ray) is skipped when it was done moments ago, and
            // otherwise runs while the journal is fsynced: both must be done before the POST,
            // neither needs the other.
            let checkedAt = ContinuousClock.now
            let unpinned = package.flatMap { packagePins.isPinned($0.name, on: spec.rayURL, at: checkedAt) ? nil : $0 }
            async let ensured: Void = { if let unpinned { try await client.ensurePackage(unpinned) } }()
            // The journal names the submission id before Ray hears of it: after a crash here the id
            // is checked, never guessed again.
            guard persistJournal() else {
                try? await ensured
                return machine.preparationFailed("cannot write the journal in \(configuration.statusDirectory); is the status directory writable?", retryable: true)
            }
            CrashPoint.reach(.afterJournal)
            try await ensured
            if let unpinned { packagePins.record(unpinned.name, on: spec.rayURL, sentAt: checkedAt) }
            body = SubmitRequestBuilder.body(jobName: configuration.jobName, run: run, spec: spec, extras: extras, package: package)
        } catch let error as RayClientError {
            logger.warning("cannot upload the script package", metadata: ["submission": "\(run.submissionId)", "error": "\(error)"])
            return failed(error)
        } catch let error as SubmissionPreparationError {
            logger.error("cannot prepare the submission", metadata: ["submission": "\(run.submissionId)", "error": "\(error)"])
            return machine.preparationFailed(error.description, retryable: error.retryable)
        } catch {
            return machine.preparationFailed("cannot prepare the submission: \(error)", retryable: false)
        }
        do {
            recordReaction()
            try await client.submit(body, submissionId: run.submissionId)
            CrashPoint.reach(.afterSubmit)
            rayAnswered()
            RayBridgeMetrics.submitted()
            logger.info("submitted", metadata: ["submission": "\(run.submissionId)", "revision": "\(spec.revision.short)"])
            return machine.submitted(at: Date())
        } catch {
            if case .duplicateSubmission = error {
                logger.info("already submitted before a restart; attaching", metadata: ["submission": "\(run.submissionId)"])
            } else {
                logger.warning("submission failed", metadata: ["submission": "\(run.submissionId)", "error": "\(error)"])
                packagePins.forget(on: spec.rayURL)
            }
            return failed(error)
        }
    }

    /// The zip of `script`, built once per script text.
    private func workingDirPackage(_ script: String) throws -> WorkingDirPackage {
        if let (text, package) = lastPackage, text == script { return package }
        let package = try WorkingDirPackage(script: script)
        lastPackage = (script, package)
        return package
    }

    /// The script text (nil for a cluster path) and the parsed extras, fetching from S3 as asked.
    private func resolve(_ spec: JobSpec) async throws -> (String?, ScriptExtras) {
        func fetch(_ ref: S3ObjectRef, for key: String) async throws -> String {
            guard let s3 = spec.s3 else {
                throw SubmissionPreparationError(message: "\(key): s3.endpoint is not set, so \(ref) cannot be fetched", retryable: false)
            }
            let client = S3Client(settings: s3, credentials: configuration.s3Credentials, http: http, trust: trust)
            do {
                return String(decoding: try await client.getObject(bucket: ref.bucket, key: ref.key), as: UTF8.self)
            } catch {
                // A missing object or a refused key waits for an edit (or a fixed Secret: retried slowly);
                // an unreachable S3 is retried.
                let permanent = ["NoSuchKey", "NoSuchBucket"].contains(error.code ?? "")
                throw SubmissionPreparationError(message: "\(key): cannot fetch \(ref): \(error)", retryable: !permanent)
            }
        }
        let script: String?
        switch spec.script {
        case .inline(let text): script = text
        case .cluster: script = nil
        case .s3(let ref): script = try await fetch(ref, for: ConfigKey.jobScript)
        }
        switch spec.extras {
        case .inline(let extras):
            return (script, extras)
        case .s3(let metadataRef, let parametersRef):
            var metadata = "", parameters = ""
            if let metadataRef { metadata = try await fetch(metadataRef, for: ConfigKey.scriptMetadata) }
            if let parametersRef { parameters = try await fetch(parametersRef, for: ConfigKey.jobParameters) }
            let parsed = ScriptExtras.parse(
                metadata: metadata, metadataKey: "\(ConfigKey.scriptMetadata) (\(metadataRef?.description ?? "-"))",
                parameters: parameters, parametersKey: "\(ConfigKey.jobParameters) (\(parametersRef?.description ?? "-"))")
            guard parsed.problems.isEmpty else {
                throw SubmissionPreparationError(message: parsed.problems.summary, retryable: false)
            }
            let word = if case .cluster(let path) = spec.script { path } else { WorkingDirPackage.scriptName }
            if let problem = EntrypointLimit.problem(script: word, s3: spec.s3, parameters: parsed.extras.parameters) {
                throw SubmissionPreparationError(message: "\(ConfigKey.jobParameters) (\(parametersRef?.description ?? "-")): \(problem)", retryable: false)
            }
            return (script, parsed.extras)
        }
    }

    @discardableResult
    private func persistJournal() -> Bool {
        let journal = machine.journal
        guard journal != savedJournal else { return true }
        do {
            try journalStore.save(journal)
            savedJournal = journal
            return true
        } catch {
            logger.error("cannot write the journal", metadata: ["path": "\(journalStore.path)", "error": "\(error)"])
            return false
        }
    }

    private func rayAnswered() {
        health.ray(reachable: true)
    }

    private func failed(_ error: RayClientError) -> ReconcilerStateMachine.Action {
        switch error {
        case .unreachable, .untrusted, .unauthorized, .server:
            health.ray(reachable: false, problem: error.description)
            RayBridgeMetrics.retried("ray")
        case .notFound, .duplicateSubmission, .rejected:
            health.ray(reachable: true)
        }
        return machine.requestFailed(error)
    }

    /// The time from the `..data` swap to the Ray call that acts on it.
    private func recordReaction() {
        guard let seen = pendingReaction else { return }
        pendingReaction = nil
        RayBridgeMetrics.reaction(ContinuousClock.now - seen)
    }

    private func logProgress(_ submissionId: String, _ shipment: StatusSnapshot.LogShipment) {
        shipments[submissionId] = shipment
        publish()
    }

    private func noticed(_ details: RayJobDetails) async {
        let before = machine.status
        let action = machine.noticed(details)
        if action != .none || machine.status != before {
            logger.info("the log stream went quiet and Ray says the run is \(details.status.rawValue)", metadata: ["submission": "\(details.submissionId ?? "-")"])
            await drive(action)
        }
    }

    /// Without S3 nothing follows the log, and the end of a run would wait for the poll
    /// (`updateInterval`, 20 s by default): a watcher notices it within about a second.
    private func ensureEndWatch() {
        var wanted: (String, JobSpec)?
        if let spec = machine.activeSpec, spec.s3 == nil, let (run, details) = machine.currentRun, run.submitted,
            !(details?.status.isTerminal ?? false)
        {
            wanted = (run.submissionId, spec)
        }
        guard endWatch?.submissionId != wanted?.0 else { return }
        endWatch?.task.cancel()
        endWatch = nil
        guard let (submissionId, spec) = wanted else { return }
        let watcher = RunEndWatcher(
            submissionId: submissionId, ray: rayClient(spec.rayURL),
            logger: logger, onTerminal: { [weak self] details in await self?.noticed(details) })
        endWatch = (submissionId, Task { await watcher.run() })
    }

    /// Every submitted run gets its log shipped when S3 is configured.
    private func ensureShipping() async {
        guard let shipping, let spec = machine.activeSpec, spec.s3 != nil, let (run, _) = machine.currentRun, run.submitted,
            let cluster = machine.cluster
        else { return }
        let source = DriverLogSource.of(cluster.version, tokenAuth: configuration.rayCredentials.token() != nil)
        await shipping.ensure(submissionId: run.submissionId, spec: spec, source: source)
    }

    private func publish() {
        var status = machine.status
        status.log = shipments[status.submissionId]
        guard status != publishedStatus else { return }
        do {
            try statusWriter.write(StatusFiles.render(status, updatedAt: Date()))
            if status.jobStatus != publishedStatus?.jobStatus || status.submissionId != publishedStatus?.submissionId {
                RayBridgeMetrics.jobStatus(status.jobStatus)
                logger.info("status", metadata: ["jobStatus": "\(status.jobStatus)", "submission": "\(status.submissionId)"])
            }
            publishedStatus = status
        } catch {
            logger.error("cannot write the status directory", metadata: ["error": "\(error)"])
        }
    }
}

/// A submission could not be put together (S3 script missing, bad parameters file...).
public struct SubmissionPreparationError: Error, CustomStringConvertible {
    public var message: String
    public var retryable: Bool
    public init(message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }
    public var description: String { message }
}

