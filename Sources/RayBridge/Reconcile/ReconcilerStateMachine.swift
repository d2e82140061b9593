import Foundation
import RayBridgeClients
import RayBridgeCore

/// "Given this desired spec and what Ray says, what next?"
///
/// Pure: no I/O, and time comes in with the events that need it (never read here). Every event
/// method returns the one `Action` to execute next; the `Reconciler` executes it and reports the
/// outcome as the next event. At most one request to Ray is in flight, so every decision sees
/// the result of the previous one. Besides the actions, the owner reads three things after every
/// event: `status` (published), `journal` (written when it changed; before a POST the `.submit`
/// action says so) and `logFollow` (the run whose driver log is followed, and where it goes).
public struct ReconcilerStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Nothing to do until the next event; a pending wait stays.
        case none
        /// Wait, then call `wakeup(at:)`. Replaces any earlier pending wait.
        case sleep(Duration)
        /// List the cluster's jobs to find runs of this job name (no journal: new pod or wiped status).
        case recover
        /// GET the job; answer with `observed` or `requestFailed`.
        case fetch(submissionId: String)
        /// Persist the journal (the run is in it, not yet submitted), then upload the package and
        /// POST; answer with `submitted(at:)`, `requestFailed` or `preparationFailed`.
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

    /// The cluster the active spec points at, as far as it told us.
    public struct Cluster: Sendable, Equatable {
        public var url: URL
        /// Nil when `/api/version` did not name a release (raybridge then assumes the newest).
        public var version: RayVersion?
    }

    /// A stopped run is polled every `stopPollInterval` for `stopWaitPolls` polls (30 s), then
    /// every `stopSlowPollInterval`, and the stop is sent again every `stopResendPolls` polls
    /// (10 s): the next revision is never submitted while the run it replaces may still be running.
    /// Ray 2.60 takes 1.1 to 1.3 s to stop a quiet driver; at 250 ms the status follows within a
    /// quarter second (a deadline's FAILED within 7 s of submission needs that), for 4 GETs a stop.
    public static let stopWaitPolls = 120
    public static let stopPollInterval: Duration = .milliseconds(250)
    public static let stopSlowPollInterval: Duration = .seconds(5)
    public static let stopResendPolls = 40
    /// Edits closer together than this are a burst (a script applying many, a storm of
    /// `kubectl apply`): no new revision is submitted until the edits have paused this long, so
    /// only the newest one is run and the ones that came and went meanwhile never are.
    public static let settleWindow: Duration = .seconds(1)
    public static let backoff = Backoff.standard

    public let jobName: String
    public let exitOnCompletion: Bool
    // Internal, not private, only so that ReconcilerStateMachine+*.swift can share it.
    public internal(set) var journal: Journal
    public internal(set) var desired: Desired = .unknown
    /// The last valid spec: an invalid edit keeps monitoring the run with it.
    public internal(set) var activeSpec: JobSpec?
    public internal(set) var cluster: Cluster?
    /// Every cluster's release as read: a run's log is read as its own cluster's release, also
    /// after `resourceURL` moved to another one.
    var releases: [URL: RayVersion] = [:]
    var phase: RunPhase
    var activity: Activity = .waiting(wakeDue: false, failures: nil)
    /// No journal: the cluster's job list is read once before the first submission.
    var needsRecovery: Bool
    /// A revision Ray (or the preparation) refused: not tried again until it changes.
    var rejected: (revision: Revision, message: String)?
    /// The latest event time, the latest edit's, and the end of a burst's settle window.
    var now: ContinuousClock.Instant?
    var lastChange: ContinuousClock.Instant?
    var settleUntil: ContinuousClock.Instant?
    /// The latest wall time an event brought: deadlines and retry backoffs count from times in
    /// the journal, which must survive a restart (nil in tests that are not about them).
    var date: Date?
    /// The attempt a pending retry follows, to go back to if the retry's POST is dropped.
    var previousAttempt: (run: RunRecord, details: RayJobDetails)?

    public init(jobName: String, journal: Journal?, exitOnCompletion: Bool = false) {
        self.jobName = jobName
        self.exitOnCompletion = exitOnCompletion
        self.journal = journal ?? Journal(jobName: jobName)
        self.needsRecovery = journal == nil
        let current = journal?.currentId.flatMap { id in journal?.runs.first { $0.submissionId == id } }
        self.phase = current.map(RunPhase.of) ?? .none
    }

    // MARK: Events that are not answers

    /// `at`: when the change was seen (nil in tests that are not about timing: never a burst).
    public mutating func configChanged(_ result: ConfigParseResult, at time: ContinuousClock.Instant? = nil, date: Date? = nil) -> Action {
        if let date { self.date = date }
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
        // A fix of the ConfigMap is tried at once, not after the current backoff.
        owe()
        return decide()
    }

    /// The last `.sleep` is over.
    public mutating func wakeup(at time: ContinuousClock.Instant? = nil, date: Date? = nil) -> Action {
        if let time { now = time }
        if let date { self.date = date }
        owe()
        return decide()
    }

    /// The log follower saw the run's state (it asks Ray when the log goes quiet): a faster way
    /// to learn that a run ended than the poll. News that it goes on starts the poll's wait again
    /// (the action replaces the pending sleep): while a follower checks more often than
    /// `updateInterval`, the machine asks Ray nothing itself.
    public mutating func noticed(_ details: RayJobDetails, at date: Date? = nil) -> Action {
        guard case .waiting = activity, let run = phase.record, phase.isSubmitted, !phase.isEnded,
            details.submissionId == run.submissionId
        else { return .none }
        if let date { self.date = date }
        if details.status != phase.details?.status { set(phase.reading(details)) }
        return decide()
    }

    mutating func owe() {
        if case .waiting(_, let failures) = activity { activity = .waiting(wakeDue: true, failures: failures) }
    }
}
