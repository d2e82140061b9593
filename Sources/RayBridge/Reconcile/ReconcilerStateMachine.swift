import Foundation

/// "Given this desired spec and this observed Ray state, what next?"
///
/// Pure: no I/O, no clocks. Every event method returns the one `Action` to execute next; the
/// `Reconciler` actor executes it and reports the outcome as the next event. At most one request
/// to Ray is in flight, so every decision sees the result of the previous one.
public struct ReconcilerStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Nothing to do until the next event.
        case none
        /// Wait, then call `wakeup()`. Replaces any earlier pending wait.
        case sleep(Duration)
        /// List the cluster's jobs to find runs of this job name (no journal: new pod or wiped status).
        case recover
        /// GET the job; answer with `observed` or `requestFailed`.
        case fetch(submissionId: String)
        /// Persist the journal (the run is in it, not yet submitted), then upload the package and
        /// POST; answer with `submitted(at:)` or `requestFailed`.
        case submit(RunRecord, JobSpec)
        /// POST stop; answer with `stopSent` or `requestFailed`.
        case stop(submissionId: String)
        /// `--exit-on-completion`: the run is terminal and nothing else is asked for.
        case exit(code: Int32)
        /// GET `/api/version` of the cluster at this URL (once per connection, and again after Ray
        /// was unreachable); answer with `versionRead` or `requestFailed`.
        case readVersion(URL)
    }

    public enum Desired: Sendable, Equatable {
        case unknown
        case invalid([ConfigProblem])
        case valid(JobSpec)
    }

    enum InFlight: Sendable, Equatable {
        case recover, fetch, submit, stop, version
    }

    /// The cluster the active spec points at, as far as it told us.
    public struct Cluster: Sendable, Equatable {
        public var url: URL
        /// Nil when `/api/version` did not name a release (raybridge then assumes the newest).
        public var version: RayVersion?
    }

    struct Failure: Sendable, Equatable {
        var message: String
        var attempts: Int
    }

    // The state below is internal, not private, only so that ReconcilerStateMachine+*.swift can
    // share it; nothing outside the state machine's files touches it.
    public let jobName: String
    public let exitOnCompletion: Bool
    /// A stopped run is polled every `stopPollInterval` for `stopWaitPolls` polls, then every
    /// `stopSlowPollInterval`, and the stop is sent again every `stopResendPolls` polls: the next
    /// revision is never submitted while the run it replaces may still be running.
    public static let stopWaitPolls = 60
    public static let stopPollInterval: Duration = .milliseconds(500)
    public static let stopSlowPollInterval: Duration = .seconds(5)
    public static let stopResendPolls = 20
    /// Edits closer together than this are a burst (a script applying many, a storm of
    /// `kubectl apply`): no new revision is submitted until the edits have paused this long, so
    /// only the newest one is run and the ones that came and went meanwhile never are.
    public static let settleWindow: Duration = .seconds(1)
    public static let maxBackoff: Duration = .seconds(30)

    public internal(set) var journal: Journal
    public internal(set) var desired: Desired = .unknown
    /// The last valid spec: an invalid edit keeps monitoring the run with it.
    public internal(set) var activeSpec: JobSpec?
    var needsRecovery: Bool
    var current: RunRecord?
    var observed: RayJobDetails?
    var inFlight: InFlight?
    var wakeDue = false
    var polls = 0
    var stopPolls = 0
    var failure: Failure?
    var rejected: (revision: Revision, message: String)?
    var finished = false
    public internal(set) var cluster: Cluster?
    /// The time of the latest event that carried one (time is passed in, never read here).
    var now: ContinuousClock.Instant?
    var lastChange: ContinuousClock.Instant?
    /// While in a burst of edits: no submission before this.
    var settleUntil: ContinuousClock.Instant?

    public init(jobName: String, journal: Journal?, exitOnCompletion: Bool = false) {
        self.jobName = jobName
        self.exitOnCompletion = exitOnCompletion
        self.journal = journal ?? Journal(jobName: jobName)
        self.needsRecovery = journal == nil
        if let id = journal?.currentId {
            self.current = journal?.runs.first { $0.submissionId == id }
        }
    }

    // MARK: Events

    /// `at`: when the change was seen; nil (tests that are not about timing) never counts as a burst.
    public mutating func configChanged(_ result: ConfigParseResult, at time: ContinuousClock.Instant? = nil) -> Action {
        if let time {
            if let lastChange, time - lastChange < Self.settleWindow { settleUntil = time + Self.settleWindow }
            lastChange = time
            now = time
        }
        switch result {
        case .valid(let spec, _):
            desired = .valid(spec)
            activeSpec = spec
        case .invalid(let problems, _):
            desired = .invalid(problems)
        }
        // A fix of the ConfigMap should be tried at once, not after the current backoff.
        wakeDue = true
        return decide()
    }

    public mutating func wakeup(at time: ContinuousClock.Instant? = nil) -> Action {
        if let time { now = time }
        wakeDue = true
        return decide()
    }

    /// The cluster's jobs, for recovery without a journal.
    public mutating func recovered(_ jobs: [RayJobDetails]) -> Action {
        inFlight = nil
        succeeded()
        needsRecovery = false
        var newest: [Revision: RunRecord] = [:]
        var maxSequence = journal.nextSequence - 1
        var latest: RunRecord?
        for job in jobs {
            guard let meta = job.metadata, meta["raybridge.job"] == jobName, let id = job.submissionId,
                let revHex = meta["raybridge.revision"], let seq = meta["raybridge.sequence"].flatMap({ Int($0) })
            else { continue }
            let run = RunRecord(submissionId: id, revision: Revision(hex: revHex), sequence: seq, submitted: true,
                                submittedAt: nil, stopRequested: job.status == .stopped, rayURL: cluster?.url)
            maxSequence = max(maxSequence, seq)
            if (newest[run.revision!]?.sequence ?? -1) < seq { newest[run.revision!] = run }
            if (latest?.sequence ?? -1) < seq { latest = run }
        }
        journal.runs = newest.values.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }
        journal.nextSequence = maxSequence + 1
        if let latest {
            setCurrent(latest)
        }
        return decide()
    }

    public mutating func versionRead(_ version: RayVersion?, at url: URL) -> Action {
        inFlight = nil
        succeeded()
        cluster = Cluster(url: url, version: version)
        return decide()
    }

    public mutating func observed(_ details: RayJobDetails) -> Action {
        inFlight = nil
        succeeded()
        if var run = current, !run.submitted {
            // The intent's POST did reach Ray before we stopped last time.
            run.submitted = true
            update(run)
        }
        observed = details
        if details.status.isTerminal { stopPolls = 0 }
        return decide()
    }

    /// The log shipper saw the run's state (it asks Ray when the log goes quiet): a faster way
    /// to learn that a run ended than the poll.
    public mutating func noticed(_ details: RayJobDetails) -> Action {
        guard inFlight == nil, let run = current, run.submitted, details.submissionId == run.submissionId,
            details.status != observed?.status
        else { return .none }
        observed = details
        return decide()
    }

    public mutating func submitted(at date: Date) -> Action {
        inFlight = nil
        succeeded()
        if var run = current {
            run.submitted = true
            run.submittedAt = run.submittedAt ?? date
            update(run)
        }
        polls = 0
        return decide()
    }

    public mutating func stopSent() -> Action {
        inFlight = nil
        succeeded()
        return decide()
    }

    public mutating func requestFailed(_ error: RayClientError) -> Action {
        let operation = inFlight
        inFlight = nil
        switch (operation, error) {
        case (.submit, .duplicateSubmission):
            // Ray has this id already: the run was submitted, by us, before a restart.
            return submitted(at: Date())
        case (.fetch, .notFound):
            succeeded()
            guard let run = current else { return decide() }
            if !run.submitted {
                // The intent never reached Ray: forget it; the same id is built again if still wanted.
                journal.runs.removeAll { $0.submissionId == run.submissionId }
                journal.nextSequence = min(journal.nextSequence, run.sequence ?? journal.nextSequence)
                current = nil
                journal.currentId = nil
                observed = nil
            } else {
                // Gone from the cluster (head restarted without persistence). Not resubmitted on
                // our own: that would run it twice if it had already done its work.
                let message = run.revision == nil
                    ? "Ray has no job with submission id \(run.submissionId) (the id key)"
                    : "Ray no longer knows submission \(run.submissionId) (was the head restarted?); change the resubmit key to run it again"
                observed = RayJobDetails(submissionId: run.submissionId, status: .failed, message: message, errorType: "RAYBRIDGE_RUN_LOST")
            }
            return decide()
        case (.stop, .notFound):
            succeeded()
            return decide()
        case (.submit, .rejected(_, let body)):
            succeeded()
            rejectSubmission { "Ray rejected the submission of \($0): \(body.prefix(1000))" }
            return decide()
        default:
            if error.meansUnreachable { cluster = nil }
            if operation == .stop, var run = current, run.stopRequested, stopPolls == 0 {
                // The stop did not reach Ray: send it again after the backoff.
                run.stopRequested = false
                update(run)
            }
            let attempts = (failure?.attempts ?? 0) + 1
            failure = Failure(message: error.description, attempts: attempts)
            wakeDue = false
            return decide()
        }
    }

    /// Building the submission failed before Ray was asked (an S3 script or parameters file).
    /// Permanent problems wait for the next edit; others are retried with backoff.
    public mutating func preparationFailed(_ message: String, retryable: Bool) -> Action {
        inFlight = nil
        if retryable {
            failure = Failure(message: message, attempts: (failure?.attempts ?? 0) + 1)
            wakeDue = false
            // The POST was never sent: the intent goes, so that the retry is not preceded by a
            // check of it (whose answer would look like success and reset the backoff).
            dropIntent()
        } else {
            succeeded()
            rejectSubmission { _ in message }
        }
        return decide()
    }

    mutating func rejectSubmission(_ message: (String) -> String) {
        guard let run = current, let revision = run.revision, !run.submitted else { return }
        rejected = (revision, message(run.submissionId))
        dropIntent()
    }

    /// Forgets the current run, an intent whose POST never reached Ray; its id is built again.
    mutating func dropIntent() {
        guard let run = current, run.revision != nil, !run.submitted else { return }
        journal.runs.removeAll { $0.submissionId == run.submissionId }
        journal.nextSequence = min(journal.nextSequence, run.sequence ?? journal.nextSequence)
        current = nil
        journal.currentId = nil
        observed = nil
    }
}
