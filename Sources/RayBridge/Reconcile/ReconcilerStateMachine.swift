import RayBridgeClients
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// "Given this desired spec and what Ray says, what next?"
///
/// Pure: no I/O, no clock. Every event carries its `Moment`, and every event method returns the
/// one `Action` that holds **every** effect the owner must perform: the Ray request to send, the
/// journal to write first, the status to publish, the log shipments to start, leave or abandon, the
/// run ends to count, the wait, the exit. The owner executes actions and reports what came of them
/// as the next events; it never inspects the machine to find out what happened.
///
/// At most one request to Ray is in flight, so every decision sees the answer to the one before.
public struct ReconcilerStateMachine: Sendable {
    // MARK: - Timing

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
    /// Failed requests to Ray are retried after this backoff.
    public static let backoff = Backoff.standard
    /// The wait before attempt n+1 after attempt n failed: 10 s, doubling, at most 5 minutes.
    public static let retryBackoff = Backoff(initial: .seconds(10), maximum: .seconds(300))
    /// At a shutdown, the last request to Ray (the stop of `--stop-on-exit`, or a last look at a run
    /// whose log is being shipped) is waited for this long: the graceful shutdown has its bound.
    public static let lastRequestTimeout: Duration = .seconds(3)

    // MARK: - Configuration

    public struct Configuration: Sendable {
        public var jobName: String
        /// `--exit-on-completion`: exit once the run is terminal (and its log shipped).
        public var exitOnCompletion: Bool
        /// `--stop-on-exit`: a shutdown stops the current run too.
        public var stopOnExit: Bool
        /// How long a shutdown waits for the logs of ended runs to be complete in S3.
        public var drainTimeout: Duration
        /// Multiplies the backoffs between attempts (`backoffLimit`) and between failed requests;
        /// 1 in production. Tests shorten the product's real 10 s and 20 s waits with it.
        public var backoffScale: Double
        /// `--driver-log-stdout`: every run's driver log is also written to standard output, so its
        /// log is read (not only watched for the end) also without S3.
        public var driverLogStdout: Bool

        public init(
            jobName: String, exitOnCompletion: Bool = false, stopOnExit: Bool = false, drainTimeout: Duration = .seconds(20),
            backoffScale: Double = 1, driverLogStdout: Bool = false
        ) {
            self.jobName = jobName
            self.exitOnCompletion = exitOnCompletion
            self.stopOnExit = stopOnExit
            self.drainTimeout = drainTimeout
            self.backoffScale = backoffScale
            self.driverLogStdout = driverLogStdout
        }
    }

    /// When an event happened.
    public struct Moment: Sendable, Equatable {
        /// Monotonic time since the owner started: the settle window of a burst of edits.
        public var elapsed: Duration
        /// Wall time: deadlines and retry backoffs count from times kept in the journal, which
        /// must survive a restart.
        public var date: Date

        public init(elapsed: Duration, date: Date) {
            self.elapsed = elapsed
            self.date = date
        }
    }

    // MARK: - Actions

    /// Everything the owner does after an event, in this order: log the anomaly, count the ends,
    /// write the journal (a submit is not sent unless it is written), send the request, set the
    /// timer, publish the status, carry out the log orders, exit.
    public struct Action: Sendable, Equatable {
        public enum Timer: Sendable, Equatable {
            /// A pending wait stays.
            case keep
            /// The pending wait is called off (a request's answer is waited for instead).
            case cancel
            /// Wait this long, then report `timerFired`; replaces a pending wait.
            case arm(Duration)
        }

        public enum Exit: Sendable, Equatable {
            /// `--exit-on-completion`: the run is terminal and its log shipped.
            case completed(code: Int32)
            /// The shutdown is over: logs of ended runs complete, the rest left resumable.
            case shutDown
        }

        /// A call to Ray; its answer comes back as `answered(_:_:at:)`.
        public var request: RayRequest?
        /// Written before `request` is sent; a failed write is reported with `journalNotWritten`.
        public var journal: Journal?
        public var status: StatusSnapshot?
        public var timer: Timer = .keep
        public var logs: [LogOrder] = []
        /// Runs seen to end by this process: the metrics and a log line, once each.
        public var ended: [RunEnd] = []
        /// Something that cannot happen happened (an answer to a request not in flight...): the
        /// machine made the safe choice; the owner logs this.
        public var anomaly: String?
        public var exit: Exit?

        public init() {}

        public static let none = Action()
    }

    /// What is to become of a run's driver log.
    public enum LogOrder: Sendable, Equatable {
        /// Ship it to S3 until its object is complete; report `shipmentEnded`.
        case ship(LogFollowPlan)
        /// Stop shipping (a shutdown, a run still going): the upload stays resumable.
        case leave(submissionId: String, because: String)
        /// Ray lost the run: its shipment completes the object with what it read.
        case abandon(submissionId: String)
        /// Follow it without S3, only to notice the run's end quickly; report `watchEnded`.
        case watch(LogFollowPlan)
        /// Stop that.
        case unwatch(submissionId: String)
    }

    /// A run seen to end by this process.
    public struct RunEnd: Sendable, Equatable {
        public var submissionId: String
        public var attempt: Int
        /// `FAILED` for a run raybridge ended (deadline, lost), else Ray's state.
        public var status: JobState
        /// What status.json's `attempts` says: the reason, or Ray's state.
        public var outcome: String
        /// From the submission to the end, when both are known.
        public var duration: Duration?
    }

    /// The machine's decision about a run's driver log: follow it on this cluster, and ship it to
    /// S3 and/or standard output, or only watch it for the run's end.
    public struct LogFollowPlan: Sendable, Equatable {
        public var submissionId: String
        public var rayURL: URL
        /// How the log reads depends on the release (nil: unknown, taken for the newest).
        public var rayVersion: RayVersion?
        public var ship: S3Settings?
        /// Also written to standard output (`--driver-log-stdout`).
        public var stdout: Bool

        public init(submissionId: String, rayURL: URL, rayVersion: RayVersion?, ship: S3Settings?, stdout: Bool = false) {
            self.submissionId = submissionId
            self.rayURL = rayURL
            self.rayVersion = rayVersion
            self.ship = ship
            self.stdout = stdout
        }

        /// Its bytes go somewhere (else it is only watched for the run's end).
        public var readsLog: Bool { ship != nil || stdout }
    }

    // MARK: - State

    public let configuration: Configuration
    private var state: State

    /// The machine's state. Every event switches over every case.
    private enum State {
        /// Watching the ConfigMap and driving the run.
        /// → `.draining` at a shutdown, or when `--exit-on-completion` sees the run end.
        case reconciling(Reconciling)
        /// Winding down: nothing is decided any more; the logs of ended runs are completed and the
        /// rest left resumable, at most one last request is sent (the stop of `--stop-on-exit`, or
        /// a last look at a run whose log is shipped).
        /// → `.draining` (an exit-on-completion's drain turns into a shutdown's, with its bound),
        /// `.done` when no shipment and no last request is left.
        case draining(Draining)
        /// Over: the owner exits. No transition; what was last known stays for the views.
        case done(Context, Run)
        /// Only while an event is handled, so that the state's arrays are not copied on write.
        case modifying
    }

    fileprivate struct Reconciling {
        var context: Context
        var run: Run
        var activity: Activity
    }

    fileprivate struct Draining {
        enum Reason: Equatable {
            /// SIGTERM (or the watcher ended): done by the `deadline` at the latest.
            case shutdown(deadline: Duration)
            /// `--exit-on-completion`: waits for the logs however long S3 takes.
            case completed(code: Int32)
        }
        var context: Context
        var run: Run
        var reason: Reason
        /// The last request (`lastRequestTimeout`), if any: given up at its deadline.
        var last: (request: RayRequest, deadline: Duration)?
    }

    /// What is known besides the current run: the same in every phase.
    fileprivate struct Context {
        let jobName: String
        var desired: Desired = .unread
        /// The cluster the active spec points at, as far as it told us (nil: ask it first).
        var cluster: Cluster?
        /// Every cluster's release as read: a run's log is read as its own cluster's release, also
        /// after `resourceURL` moved to another one.
        var releases: [URL: Cluster] = [:]
        var ledger: Ledger
        /// A revision Ray (or the preparation) refused: not tried again until it changes.
        var rejected: (revision: Revision, message: String)?
        var edits = Edits()
        /// The latest event's time.
        var now: Moment
        var logs: Logs
        /// What the owner was last given, so that an action carries a journal or a status only
        /// when it changed.
        var written: Journal?
        var published: StatusSnapshot?
        /// Finished runs Ray refused to delete: not asked again by this process.
        var undeletable: Set<String> = []
        /// Effects found while an event is handled, handed out with its action.
        var effects = Effects()
    }

    fileprivate enum Desired {
        /// No ConfigMap read yet.
        case unread
        case valid(JobSpec)
        /// The ConfigMap is wrong; the last valid spec (if any) keeps the run monitored.
        case invalid([ConfigProblem], keeping: JobSpec?)

        /// The spec the run is monitored with.
        var active: JobSpec? {
            switch self {
            case .unread: nil
            case .valid(let spec): spec
            case .invalid(_, let spec): spec
            }
        }
    }

    fileprivate struct Cluster: Equatable {
        var url: URL
        /// Nil when `/api/version` did not name a release (raybridge then assumes the newest).
        var version: RayVersion?
    }

    /// The runs of this job name other than the current one.
    fileprivate struct Ledger {
        /// Oldest first (by sequence).
        var runs: [RunRecord]
        var nextSequence: Int
        /// False without a journal (new pod, wiped status directory): the cluster's job list is
        /// read once before anything is submitted, and no journal is written until then.
        var known: Bool

        func latest(of revision: Revision) -> RunRecord? {
            runs.last { $0.revision == revision }
        }

        mutating func take(_ submissionId: String) -> RunRecord? {
            guard let i = runs.firstIndex(where: { $0.submissionId == submissionId }) else { return nil }
            return runs.remove(at: i)
        }

        mutating func markDeleted(_ submissionId: String) {
            guard let i = runs.firstIndex(where: { $0.submissionId == submissionId }) else { return }
            runs[i].deleted = true
        }

        mutating func put(_ record: RunRecord) {
            runs.removeAll { $0.submissionId == record.submissionId }
            let i = runs.firstIndex { ($0.sequence ?? 0) > (record.sequence ?? 0) } ?? runs.endIndex
            runs.insert(record, at: i)
        }
    }

    fileprivate struct Edits {
        var lastChange: Duration?
        /// The end of a burst's settle window.
        var settleUntil: Duration?
    }

    /// The driver logs being followed.
    fileprivate struct Logs {
        /// S3 shipments running, by submission id.
        var shipping: [String: Shipment] = [:]
        /// Objects seen complete by this process.
        var complete: Set<String> = []
        /// The latest progress of the current run's log and of every running shipment.
        var progress: [String: StatusSnapshot.LogShipment] = [:]
        /// The run followed without S3 (kept after its follower ended, so it is not followed twice).
        var watched: String?
        var watching = false
        /// Uploads an earlier process left open: shipped once a spec with S3 is known.
        var leftovers: [LeftoverUpload]
    }

    fileprivate struct Shipment {
        var plan: LogFollowPlan
        /// Its follower told that the run is over.
        var endNoticed = false
        /// Told to stop (left resumable).
        var left = false
    }

    fileprivate struct Effects {
        var ends: [RunEnd] = []
        var orders: [LogOrder] = []
        var anomaly: String?
    }

    /// What the machine is doing about Ray.
    fileprivate enum Activity {
        /// No request in flight. `wakeDue`: a timer fired or an edit came since the last request
        /// (a failure streak waits for one before the next request).
        case idle(wakeDue: Bool, failures: FailureStreak?)
        /// The streak is carried through the request, so that the next failure backs off longer.
        case requesting(RayRequest, failures: FailureStreak?)

        var failures: FailureStreak? {
            switch self {
            case .idle(_, let failures), .requesting(_, let failures): failures
            }
        }
    }

    /// Failed requests in a row, for the backoff and the status.
    fileprivate struct FailureStreak {
        var message: String
        var count: Int
    }

    // MARK: Runs

    /// What identifies a run, whatever its phase.
    fileprivate struct RunID: Equatable {
        var submissionId: String
        /// Nil for a run only attached to (the `id` key): not ours to submit, retry or time out.
        var revision: Revision?
        var sequence: Int?
        /// The cluster it was submitted to: its checks and its stop go there, also after
        /// `resourceURL` moved. Nil in journals of early releases.
        var rayURL: URL?
        var attempt: Int
    }

    /// A run Ray has.
    fileprivate struct Submitted: Equatable {
        var id: RunID
        /// When Ray accepted it (Ray's `start_time` for a run found on the cluster): the deadline
        /// counts from here.
        var submittedAt: Date?
    }

    fileprivate enum StopCause: Equatable {
        /// `kill: "true"`: a suspend; setting it back runs the job again.
        case kill
        /// A new revision replaces it.
        case replaced
        /// `activeDeadlineSeconds`: reported FAILED and not retried.
        case deadline
        /// `preRunningDeadlineSeconds`: a failed attempt, retried within `backoffLimit`.
        case preRunningDeadline

        /// Why the run ended, when raybridge ended it.
        var reason: RunEndReason? {
            switch self {
            case .deadline: .deadlineExceeded
            case .preRunningDeadline: .preRunningDeadlineExceeded
            case .kill, .replaced: nil
            }
        }

        init(_ record: RunRecord) {
            switch record.reason {
            case .deadlineExceeded: self = .deadline
            case .preRunningDeadlineExceeded: self = .preRunningDeadline
            case .lost, nil: self = record.killed == true ? .kill : .replaced
            }
        }
    }

    /// A run that is over.
    fileprivate struct Finished: Equatable {
        var run: Submitted
        var outcome: JobState
        /// When raybridge saw it end (Ray's `end_time` for a run found ended): the retry's backoff
        /// counts from here, also across a restart.
        var endedAt: Date?
        /// Stopped on purpose (kill, edit, deadline): not retried (but for the pre-running deadline).
        var stopRequested: Bool
        var reason: RunEndReason?
        /// Stopped by `kill`: setting it back to "false" runs the job again, as a new submission.
        var killed = false
    }

    /// The current run, in the phase it is in; each case carries what is true in it.
    fileprivate enum Run {
        /// No run: none yet, or the last intent was dropped.
        /// → `.intent` (a submission), `.unread` (an attached id), or the phase of a run of the
        /// journal or the cluster that becomes current again.
        case none
        /// In the journal, its POST sent or about to be: it may or may not have reached Ray, so it
        /// is read before anything else is decided (and posted again under the same id if Ray does
        /// not know it). `retryOf`: the attempt it retries, current again if its POST never goes out.
        /// → `.unread` (Ray accepted it, or already had the id), `.live`/`.ended` (read),
        /// `.none` (Ray does not know it, refused it, it could not be prepared),
        /// `.ended` (the attempt it retries, when its POST did not go out).
        case intent(RunID, retryOf: (Finished, RayJobDetails)?)
        /// Ray has it; its state is not read yet. → `.live`, `.ended`.
        case unread(Submitted)
        /// Ray said it is not over. `polls`: wake-ups since it became current (the poll ramps up).
        /// → `.stopping` (kill, an edit, the deadline), `.ended`.
        case live(Submitted, RayJobDetails, polls: Int)
        /// A stop was decided; `sent` once Ray took it. Ray has not said the run ended. `polls`:
        /// wake-ups since. Details nil after a restart, until read. → `.ended`.
        case stopping(Submitted, StopCause, RayJobDetails?, polls: Int, sent: Bool)
        /// The journal says it ended; Ray's account is not read yet (after a restart).
        /// → `.ended` (read, or Ray forgot it: what was seen then stands), `.live` (Ray says it runs).
        case recordedEnd(Finished)
        /// Over, or lost. → replaced by another run.
        case ended(Finished, RayJobDetails)

        var submissionId: String? { runID?.submissionId }

        var runID: RunID? {
            switch self {
            case .none: nil
            case .intent(let id, _): id
            case .unread(let run), .live(let run, _, _), .stopping(let run, _, _, _, _): run.id
            case .recordedEnd(let finished), .ended(let finished, _): finished.run.id
            }
        }

        var submitted: Submitted? {
            switch self {
            case .none, .intent: nil
            case .unread(let run), .live(let run, _, _), .stopping(let run, _, _, _, _): run
            case .recordedEnd(let finished), .ended(let finished, _): finished.run
            }
        }

        var details: RayJobDetails? {
            switch self {
            case .none, .intent, .unread, .recordedEnd: nil
            case .live(_, let details, _), .ended(_, let details): details
            case .stopping(_, _, let details, _, _): details
            }
        }

        /// Submitted and not known to be over.
        var mayBeLive: Bool {
            switch self {
            case .unread, .live, .stopping: true
            case .none, .intent, .recordedEnd, .ended: false
            }
        }

        var isOver: Bool {
            switch self {
            case .recordedEnd, .ended: true
            case .none, .intent, .unread, .live, .stopping: false
            }
        }

        /// As the journal keeps it.
        var record: RunRecord? {
            switch self {
            case .none: return nil
            case .intent(let id, _): return RunRecord(id, submitted: false)
            case .unread(let run), .live(let run, _, _):
                var record = RunRecord(run.id, submitted: true)
                record.submittedAt = run.submittedAt
                return record
            case .stopping(let run, let cause, _, _, _):
                var record = RunRecord(run.id, submitted: true)
                record.submittedAt = run.submittedAt
                record.stopRequested = true
                record.reason = cause.reason
                record.killed = cause == .kill ? true : nil
                return record
            case .recordedEnd(let finished), .ended(let finished, _):
                var record = RunRecord(finished.run.id, submitted: true)
                record.submittedAt = finished.run.submittedAt
                record.stopRequested = finished.stopRequested
                record.outcome = finished.outcome
                record.endedAt = finished.endedAt
                record.reason = finished.reason
                record.killed = finished.killed ? true : nil
                return record
            }
        }

        /// A run from the journal or the cluster, before anything is read about it.
        init(restoring record: RunRecord) {
            let id = RunID(
                submissionId: record.submissionId, revision: record.revision, sequence: record.sequence, rayURL: record.rayURL,
                attempt: record.attemptNumber)
            guard record.submitted else {
                self = .intent(id, retryOf: nil)
                return
            }
            let run = Submitted(id: id, submittedAt: record.submittedAt)
            if let outcome = record.outcome {
                self = .recordedEnd(
                    Finished(
                        run: run, outcome: outcome, endedAt: record.endedAt, stopRequested: record.stopRequested, reason: record.reason,
                        killed: record.killed == true))
            } else if record.stopRequested {
                // The stop was decided before the restart: it is waited for, not sent again at once.
                self = .stopping(run, StopCause(record), nil, polls: 0, sent: true)
            } else {
                self = .unread(run)
            }
        }

    }

    // MARK: - Init

    /// `journal`: nil when the status directory has none (the cluster is asked instead).
    /// `leftovers`: uploads an earlier process left open.
    /// `completeLogs`: runs whose log object an earlier process completed.
    public init(configuration: Configuration, journal: Journal?, leftovers: [LeftoverUpload] = [], completeLogs: Set<String> = [], at now: Moment) {
        self.configuration = configuration
        var ledger = Ledger(runs: journal?.runs ?? [], nextSequence: journal?.nextSequence ?? 1, known: journal != nil)
        var run = Run.none
        if let id = journal?.currentId, let record = ledger.take(id) {
            run = Run(restoring: record)
        }
        var context = Context(jobName: configuration.jobName, ledger: ledger, now: now, logs: Logs(complete: completeLogs, leftovers: leftovers))
        context.written = journal
        // Runs Ray lost before the restart: their log objects are completed as they are.
        for record in ledger.runs + [run.record].compactMap({ $0 }) where record.reason == .lost {
            context.effects.orders.append(.abandon(submissionId: record.submissionId))
        }
        state = .reconciling(Reconciling(context: context, run: run, activity: .idle(wakeDue: false, failures: nil)))
    }

    // MARK: - Views (for the owner's log lines and for tests; never needed to act)

    /// What the journal holds now.
    public var journal: Journal {
        switch state {
        case .reconciling(let r): Self.journal(configuration.jobName, r.context, r.run)
        case .draining(let d): Self.journal(configuration.jobName, d.context, d.run)
        case .done(let context, let run): Self.journal(configuration.jobName, context, run)
        case .modifying: Journal(jobName: configuration.jobName)
        }
    }

    /// What the status directory says now (the action carries it when it changes).
    public var status: StatusSnapshot {
        switch state {
        case .reconciling(let r): snapshot(r.context, r.run, failures: r.activity.failures)
        case .draining(let d): snapshot(d.context, d.run, failures: nil)
        case .done(let context, let run): snapshot(context, run, failures: nil)
        case .modifying: StatusSnapshot(jobStatus: .waiting, message: "")
        }
    }

    /// The run being monitored, as the journal keeps it, with Ray's last word on it.
    public var currentRun: (run: RunRecord, details: RayJobDetails?)? {
        switch state {
        case .reconciling(let r): r.run.record.map { ($0, r.run.details) }
        case .draining(let d): d.run.record.map { ($0, d.run.details) }
        case .done(_, let run): run.record.map { ($0, run.details) }
        case .modifying: nil
        }
    }

    // MARK: - Events

    /// The owner's loop runs: the first status, and what the journal asks of the logs.
    public mutating func started(at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            return reconcile(&r, deciding: false)
        case .draining, .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// The kubelet swapped `..data` (or the first read).
    public mutating func configChanged(_ result: ConfigParseResult, at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            if let last = r.context.edits.lastChange, now.elapsed - last < Self.settleWindow {
                r.context.edits.settleUntil = now.elapsed + Self.settleWindow
            }
            r.context.edits.lastChange = now.elapsed
            switch result {
            case .valid(let spec, _): r.context.desired = .valid(spec)
            case .invalid(let problems, _): r.context.desired = .invalid(problems, keeping: r.context.desired.active)
            }
            // A fix of the ConfigMap is tried at once, not after the current backoff.
            r.owe()
            return reconcile(&r)
        case .draining(var d):
            // Nothing is decided any more; the status still tells what the ConfigMap says.
            state = .modifying
            d.context.now = now
            switch result {
            case .valid(let spec, _): d.context.desired = .valid(spec)
            case .invalid(let problems, _): d.context.desired = .invalid(problems, keeping: d.context.desired.active)
            }
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// The wait armed by the last `.arm` is over.
    public mutating func timerFired(at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            r.owe()
            return reconcile(&r)
        case .draining(var d):
            state = .modifying
            d.context.now = now
            if let last = d.last, now.elapsed >= last.deadline {
                d.last = nil
                d.context.effects.anomaly =
                    "no answer from Ray within \(Self.lastRequestTimeout) to the last request (\(last.request)); going on without it"
                d.leaveUnfinished(stopOnExit: configuration.stopOnExit)
            }
            if case .shutdown(let deadline) = d.reason, now.elapsed >= deadline {
                for (id, shipment) in d.context.logs.shipping where !shipment.left {
                    d.leave(id, why: "the drain timeout (\(configuration.drainTimeout)) passed")
                }
            }
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// Ray answered `request` (or it failed).
    public mutating func answered(_ request: RayRequest, _ reply: RayReply, at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            guard case .requesting(let inFlight, let failures) = r.activity, inFlight == request else {
                assertionFailure("an answer to \(request), which is not in flight")
                r.context.effects.anomaly = "ignored an answer to \(request), which was not in flight"
                return reconcile(&r)
            }
            r.handle(request, reply, failures: failures)
            return reconcile(&r)
        case .draining(var d):
            state = .modifying
            d.context.now = now
            if let last = d.last, last.request == request {
                d.last = nil
                if case .job(let details) = reply, details.submissionId == d.run.submissionId {
                    d.run = d.run.reading(details, at: now.date, effects: &d.context.effects)
                }
                d.leaveUnfinished(stopOnExit: configuration.stopOnExit)
            }
            // Any other answer is to a request sent before the shutdown: nothing is decided on it.
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// The journal of the last action could not be written.
    public mutating func journalNotWritten(_ problem: String, at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            r.context.written = nil
            if case .requesting(.submit, _) = r.activity {
                // The id must be on disk before Ray hears of it: the POST was not sent.
                r.handle(preparationFailure: SubmissionPreparationError(message: problem, retryable: true))
            }
            return reconcile(&r)
        case .draining(var d):
            state = .modifying
            d.context.now = now
            d.context.written = nil
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// A log follower asked Ray for the run's state (it does when the log goes quiet): a faster way
    /// to learn that a run ended than the poll. News that the current run goes on starts the
    /// poll's wait again (the action replaces the pending wait): while a follower checks more often
    /// than `updateInterval`, the machine asks Ray nothing itself.
    public mutating func noticed(_ details: RayJobDetails, at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            r.context.logs.noticed(details)
            guard case .idle = r.activity, r.run.mayBeLive, details.submissionId == r.run.submissionId else { return reconcile(&r, deciding: false) }
            if details.status != r.run.details?.status {
                r.run = r.run.reading(details, at: now.date, effects: &r.context.effects)
            }
            return reconcile(&r)
        case .draining(var d):
            state = .modifying
            d.context.now = now
            d.context.logs.noticed(details)
            if details.status.isTerminal, d.run.mayBeLive, details.submissionId == d.run.submissionId {
                d.run = d.run.reading(details, at: now.date, effects: &d.context.effects)
            }
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// Where a shipment stands (after every part, failure and completion).
    public mutating func logProgress(_ submissionId: String, _ shipment: StatusSnapshot.LogShipment, at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            r.context.logs.record(submissionId, shipment, current: r.run.submissionId)
            return reconcile(&r, deciding: false)
        case .draining(var d):
            state = .modifying
            d.context.now = now
            d.context.logs.record(submissionId, shipment, current: d.run.submissionId)
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// A shipment stopped: its object is complete, or it was left.
    public mutating func shipmentEnded(_ submissionId: String, complete: Bool, at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            r.context.logs.ended(submissionId, complete: complete)
            // A complete log may let a finished run be deleted (keepFinishedRuns).
            return reconcile(&r, deciding: complete)
        case .draining(var d):
            state = .modifying
            d.context.now = now
            d.context.logs.ended(submissionId, complete: complete)
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// A follower without S3 stopped (it saw the run end, or was told to stop).
    public mutating func watchEnded(_ submissionId: String, at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            if r.context.logs.watched == submissionId { r.context.logs.watching = false }
            return reconcile(&r, deciding: false)
        case .draining(var d):
            state = .modifying
            d.context.now = now
            if d.context.logs.watched == submissionId { d.context.logs.watching = false }
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    /// SIGTERM, SIGINT, SIGHUP, or the ConfigMap watch ended: the logs of runs that are over are
    /// completed (within `drainTimeout`), the rest are left resumable for the next start.
    public mutating func shutdown(at now: Moment) -> Action {
        switch state {
        case .reconciling(var r):
            state = .modifying
            r.context.now = now
            var d = Draining(context: r.context, run: r.run, reason: .shutdown(deadline: now.elapsed + configuration.drainTimeout))
            return drain(&d, sending: d.begin(configuration))
        case .draining(var d):
            state = .modifying
            d.context.now = now
            if case .completed = d.reason {
                // The exit waited for the logs without a bound; a shutdown has one.
                d.reason = .shutdown(deadline: now.elapsed + configuration.drainTimeout)
            }
            return drain(&d)
        case .done:
            return .none
        case .modifying:
            preconditionFailure("ReconcilerStateMachine re-entered")
        }
    }

    // MARK: - Turning a step into an action

    /// What `decide` came to.
    fileprivate enum Next {
        /// Nothing to do until the next event; a pending wait stays.
        case nothing
        case sleep(Duration)
        case request(RayRequest)
        /// `--exit-on-completion`: the run is terminal and nothing else is asked for.
        case exit(code: Int32)
    }

    /// `deciding`: false for news that decides nothing (a shipment's progress): the pending wait stays.
    private mutating func reconcile(_ r: inout Reconciling, deciding: Bool = true) -> Action {
        let next = deciding ? r.decide(configuration) : .nothing
        r.context.follow(r.run, stdout: configuration.driverLogStdout)
        var action = Action()
        switch next {
        case .nothing: action.timer = .keep
        case .sleep(let duration): action.timer = .arm(duration)
        case .request(let request):
            action.request = request
            action.timer = .cancel
        case .exit(let code):
            var d = Draining(context: r.context, run: r.run, reason: .completed(code: code))
            return drain(&d, sending: d.begin(configuration))
        }
        finish(&action, &r.context, r.run, failures: r.activity.failures)
        state = .reconciling(r)
        return action
    }

    /// `sending`: the last request, when the drain begins.
    private mutating func drain(_ d: inout Draining, sending last: RayRequest? = nil) -> Action {
        var action = Action()
        action.request = last
        if d.context.logs.shipping.isEmpty, d.last == nil {
            finish(&action, &d.context, d.run, failures: nil)
            switch d.reason {
            case .shutdown: action.exit = .shutDown
            case .completed(let code): action.exit = .completed(code: code)
            }
            action.timer = .cancel
            state = .done(d.context, d.run)
            return action
        }
        // Sleep until the nearest bound.
        let deadlines = [d.last?.deadline, { if case .shutdown(let deadline) = d.reason { deadline } else { nil } }()].compactMap { $0 }
        if let nearest = deadlines.min() {
            action.timer = .arm(max(nearest - d.context.now.elapsed, .zero))
        } else {
            action.timer = .cancel
        }
        finish(&action, &d.context, d.run, failures: nil)
        state = .draining(d)
        return action
    }

    /// The outputs every action carries when they changed, and the effects the event found.
    private func finish(_ action: inout Action, _ context: inout Context, _ run: Run, failures: FailureStreak?) {
        if context.ledger.known {
            let journal = Self.journal(configuration.jobName, context, run)
            if journal != context.written {
                action.journal = journal
                context.written = journal
            }
        }
        let status = snapshot(context, run, failures: failures)
        if status != context.published {
            action.status = status
            context.published = status
        }
        action.logs = context.effects.orders
        action.ended = context.effects.ends
        action.anomaly = context.effects.anomaly
        context.effects = Effects()
    }

    private static func journal(_ jobName: String, _ context: Context, _ run: Run) -> Journal {
        var ledger = context.ledger
        var currentId: String?
        if let record = run.record, record.revision != nil {
            ledger.put(record)
            currentId = record.submissionId
        }
        for i in ledger.runs.indices {
            let id = ledger.runs[i].submissionId
            if context.logs.complete.contains(id) {
                ledger.runs[i].logComplete = true
            } else if context.logs.shipping[id] != nil {
                ledger.runs[i].logComplete = false
            }
        }
        return Journal(jobName: jobName, nextSequence: ledger.nextSequence, runs: ledger.runs, currentId: currentId)
    }
}

// MARK: - Reconciling

extension ReconcilerStateMachine.Reconciling {
    typealias M = ReconcilerStateMachine

    /// A timer fired or an edit came: the next poll (or retry after a failure) may go.
    mutating func owe() {
        if case .idle(_, let failures) = activity { activity = .idle(wakeDue: true, failures: failures) }
    }

    mutating func consumeWake() -> Bool {
        guard case .idle(true, let failures) = activity else { return false }
        activity = .idle(wakeDue: false, failures: failures)
        return true
    }

    /// A request was answered: the failure streak is over.
    mutating func answered() {
        activity = .idle(wakeDue: false, failures: nil)
    }

    private mutating func request(_ request: RayRequest) -> M.Next {
        activity = .requesting(request, failures: activity.failures)
        return .request(request)
    }

    // MARK: Answers

    mutating func handle(_ request: RayRequest, _ reply: RayReply, failures: M.FailureStreak?) {
        switch (request, reply) {
        case (.readVersion(let url), .version(let version)):
            answered()
            let cluster = M.Cluster(url: url, version: version)
            context.cluster = cluster
            context.releases[url] = cluster
        case (.listJobs, .jobs(let jobs)):
            answered()
            recovered(jobs)
        case (.fetch, .job(let details)):
            answered()
            run = run.reading(details, at: context.now.date, effects: &context.effects)
        case (.submit, .submitted(let date)):
            answered()
            guard case .intent(let id, _) = run else { return }
            run = .unread(M.Submitted(id: id, submittedAt: date))
        case (.stop, .stopSent):
            answered()
            switch run {
            case .stopping(let s, .preRunningDeadline, let details?, _, _) where details.status == .pending:
                // Ray queues the stop on the run's job supervisor, which it cannot schedule while
                // the entrypoint's resources are missing: the run stays PENDING (until Ray's own
                // RAY_JOB_START_TIMEOUT_SECONDS fails it) and stops the moment it could start. It
                // will never run: the attempt is over now, and the next one need not wait.
                var details = details
                details.message =
                    "Ray keeps it PENDING until its job supervisor can be scheduled, and stops it then; "
                    + (details.message ?? "")
                let finished = M.Finished(
                    run: s, outcome: .failed, endedAt: context.now.date, stopRequested: true, reason: .preRunningDeadlineExceeded)
                run = .ended(finished, details)
                context.effects.ends.append(M.RunEnd(finished))
            case .stopping(let s, let cause, let details, let polls, _):
                run = .stopping(s, cause, details, polls: polls, sent: true)
            case .none, .intent, .unread, .live, .recordedEnd, .ended:
                break
            }
        case (.delete(let id, _), .deleted):
            answered()
            context.ledger.markDeleted(id)
        case (.submit, .notPrepared(let error)):
            handle(preparationFailure: error)
        case (_, .failed(let error)):
            failed(request, error, failures: failures)
        default:
            assertionFailure("\(reply) is no answer to \(request)")
            context.effects.anomaly = "\(reply) is no answer to \(request); treated as a failure"
            activity = .idle(wakeDue: false, failures: M.FailureStreak(message: "unexpected answer", count: (failures?.count ?? 0) + 1))
        }
    }

    private mutating func failed(_ request: RayRequest, _ error: RayClientError, failures: M.FailureStreak?) {
        switch (request, error) {
        case (.submit, .duplicateSubmission):
            // Ray has this id already: the run was submitted, by us, before a restart. Its submit
            // time is Ray's (`start_time`), read with its state.
            answered()
            if case .intent(let id, _) = run { run = .unread(M.Submitted(id: id, submittedAt: nil)) }
        case (.fetch, .notFound):
            answered()
            switch run {
            case .intent:
                // The intent never reached Ray: forget it; the same id is built again if still wanted.
                dropIntent()
            case .unread, .live, .stopping, .recordedEnd, .ended:
                lost()
            case .none:
                break
            }
        case (.delete(let id, _), .notFound):
            answered()
            context.ledger.markDeleted(id)
        case (.delete(let id, _), _) where !error.meansUnreachable:
            // Refused (not terminal after all, or a proxy says no): it stays, and is not asked again.
            answered()
            context.undeletable.insert(id)
        case (.stop, .notFound):
            // Nothing to stop: the next read tells what became of it.
            answered()
            if case .stopping(let s, let cause, let details, let polls, _) = run { run = .stopping(s, cause, details, polls: polls, sent: true) }
        case (.submit, .rejected(_, let body)):
            answered()
            reject { "Ray rejected the submission of \($0): \(body.prefix(1000))" }
        default:
            if error.meansUnreachable { context.cluster = nil }
            activity = .idle(wakeDue: false, failures: M.FailureStreak(message: error.description, count: (failures?.count ?? 0) + 1))
        }
    }

    /// Building the submission failed before Ray was asked (an S3 script or parameters file, the
    /// journal). Permanent problems wait for the next edit; others are retried with backoff.
    mutating func handle(preparationFailure error: SubmissionPreparationError) {
        if error.retryable {
            activity = .idle(wakeDue: false, failures: M.FailureStreak(message: error.message, count: (activity.failures?.count ?? 0) + 1))
            // The POST was never sent: the intent goes, so that the retry is not preceded by a
            // check of it (whose answer would look like success and reset the backoff).
            dropIntent()
        } else {
            answered()
            reject { _ in error.message }
        }
    }

    private mutating func reject(_ message: (String) -> String) {
        guard case .intent(let id, _) = run, let revision = id.revision else { return }
        context.rejected = (revision, message(id.submissionId))
        dropIntent()
    }

    /// Forgets the current intent, whose POST never reached Ray; its id is built again.
    private mutating func dropIntent() {
        guard case .intent(let id, let retryOf) = run else { return }
        context.ledger.nextSequence = min(context.ledger.nextSequence, id.sequence ?? context.ledger.nextSequence)
        run = .none
        // A retry's POST that never went out: the attempt it follows is current again, as it
        // ended (not read again, which would reset the backoff of the failures).
        if let (previous, details) = retryOf, previous.run.id.revision == id.revision, context.ledger.take(previous.run.id.submissionId) != nil {
            run = .ended(previous, details)
        }
    }

    /// The cluster's jobs, for recovery without a journal.
    private mutating func recovered(_ jobs: [RayJobDetails]) {
        var runs: [RunRecord] = []
        var maxSequence = context.ledger.nextSequence - 1
        let deadline = context.desired.active?.activeDeadline
        for job in jobs {
            guard let meta = job.metadata, meta["raybridge.job"] == context.jobName, let id = job.submissionId,
                let revision = meta["raybridge.revision"], let sequence = meta["raybridge.sequence"].flatMap({ Int($0) })
            else { continue }
            runs.append(Self.found(job, id: id, revision: Revision(hex: revision), sequence: sequence, on: context.cluster?.url, deadline: deadline))
            maxSequence = max(maxSequence, sequence)
        }
        // Every attempt of a revision is kept (status.json lists them); the newest `maxRuns` runs.
        runs = Array(runs.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }.suffix(Journal.maxRuns))
        context.ledger = M.Ledger(runs: runs, nextSequence: maxSequence + 1, known: true)
        if let latest = context.ledger.runs.last { makeCurrent(latest) }
    }

    /// A run found on the cluster (no journal): its attempt from the metadata, its outcome from its
    /// state. A run STOPPED at least the deadline after it started was stopped for the deadline.
    private static func found(_ job: RayJobDetails, id: String, revision: Revision, sequence: Int, on url: URL?, deadline: Duration?) -> RunRecord {
        var run = RunRecord(
            submissionId: id, revision: revision, sequence: sequence, submitted: true, stopRequested: job.status == .stopped,
            rayURL: url, attempt: job.metadata?["raybridge.attempt"].flatMap { Int($0) })
        guard job.status.isTerminal else { return run }
        run.outcome = JobState(job.status)
        run.endedAt = job.endTime.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) }
        if job.status == .stopped, let deadline, let start = job.startTime, let end = job.endTime,
            TimeInterval(end - start) / 1000 >= deadline.timeInterval
        {
            run.reason = .deadlineExceeded
        } else if job.status == .stopped {
            // Which stop it was is not on the cluster: taken for a kill (a suspend), so that
            // kill "false" runs the job again also after the status directory was lost.
            run.killed = true
        }
        return run
    }

    /// Ray no longer knows the current run (a head restarted without persistence).
    private mutating func lost() {
        switch run {
        case .recordedEnd(let finished), .ended(let finished, _):
            // It had ended before Ray forgot it: what was seen then stands.
            run = .ended(finished, RayJobDetails(submissionId: finished.run.id.submissionId, status: finished.outcome.rayStatus, message: ""))
        case .unread(let s), .live(let s, _, _), .stopping(let s, _, _, _, _):
            let details: RayJobDetails
            var reason: RunEndReason?
            if s.id.revision == nil {
                let message = "Ray has no job with submission id \(s.id.submissionId) (the id key)"
                details = RayJobDetails(submissionId: s.id.submissionId, status: .failed, message: message, errorType: "RAYBRIDGE_RUN_LOST")
            } else {
                // Gone from the cluster: a failed attempt, retried only while backoffLimit leaves
                // attempts; its log in S3 ends where Ray's did.
                reason = .lost
                let message =
                    "Ray no longer knows submission \(s.id.submissionId) (was the head restarted without persistence?); "
                    + "its log in S3, if any, ends where Ray's did"
                details = RayJobDetails(submissionId: s.id.submissionId, status: .failed, message: message, errorType: "RAYBRIDGE_RUN_LOST")
                context.effects.orders.append(.abandon(submissionId: s.id.submissionId))
            }
            let stopRequested = if case .stopping = run { true } else { false }
            let finished = M.Finished(run: s, outcome: .failed, endedAt: context.now.date, stopRequested: stopRequested, reason: reason)
            run = .ended(finished, details)
            if reason != nil { context.effects.ends.append(M.RunEnd(finished)) }
        case .none, .intent:
            break
        }
    }

    // MARK: Decisions

    /// What to do next, given the desired spec and what Ray said; every event ends here.
    mutating func decide(_ configuration: M.Configuration) -> M.Next {
        guard case .idle(let wakeDue, let failures) = activity else { return .nothing }
        if let failures, !wakeDue {
            // Every request to Ray waits out the backoff after a failure.
            return .sleep(M.backoff.delay(afterFailures: failures.count) * configuration.backoffScale)
        }
        guard let spec = context.desired.active else { return .nothing }
        // What the cluster understands decides what may be sent: learn it first.
        guard let cluster = context.cluster, cluster.url == spec.rayURL else {
            return request(.readVersion(spec.rayURL))
        }
        // A spec the cluster cannot run is handled like an invalid one: the run is left alone.
        let wanted: JobSpec? = if case .valid(let s) = context.desired, s.unsupported(by: cluster.version).isEmpty { s } else { nil }

        if let id = wanted?.attachId {
            if run.submissionId != id {
                makeCurrent(
                    .unread(
                        M.Submitted(id: M.RunID(submissionId: id, revision: nil, sequence: nil, rayURL: spec.rayURL, attempt: 1), submittedAt: nil))
                )
            }
        } else if !context.ledger.known, wanted != nil {
            return request(.listJobs(spec.rayURL))
        }

        switch run {
        case .intent(let id, _):
            // Learn the current run's state before deciding anything about it.
            return request(.fetch(submissionId: id.submissionId, on: url(of: id, spec)))
        case .unread(let s), .stopping(let s, _, nil, _, _):
            return request(.fetch(submissionId: s.id.submissionId, on: url(of: s.id, spec)))
        case .recordedEnd(let finished):
            return request(.fetch(submissionId: finished.run.id.submissionId, on: url(of: finished.run.id, spec)))
        case .live(let s, let details, let polls):
            if let cause = stopCause(s.id, wanted) ?? deadlinePassed(s, details, spec) {
                // A stop for a deadline is recorded as such before it is sent: reported FAILED,
                // also if the process restarts before Ray says it stopped.
                run = .stopping(s, cause, details, polls: 0, sent: false)
                return request(.stop(submissionId: s.id.submissionId, on: url(of: s.id, spec)))
            }
            let interval = untilDeadline(s, details, spec).map { min($0, spec.updateInterval) } ?? spec.updateInterval
            return deleting(instead: poll(s, spec, every: interval, polls: polls), spec)
        case .stopping(let s, let cause, .some, let polls, let sent):
            guard cause == .deadline || cause == .preRunningDeadline || stopCause(s.id, wanted) != nil else {
                return poll(s, spec, every: spec.updateInterval, polls: polls)
            }
            if !sent { return request(.stop(submissionId: s.id.submissionId, on: url(of: s.id, spec))) }
            // Wait for Ray to report the run terminal, asking again from time to time: a stop
            // that was lost (a proxy's 503, a restarted head) must not leave it running.
            guard consumeWake() else {
                return .sleep(polls < M.stopWaitPolls ? M.stopPollInterval : M.stopSlowPollInterval)
            }
            if case .stopping(let s, let cause, let details, _, let sent) = run { run = .stopping(s, cause, details, polls: polls + 1, sent: sent) }
            if (polls + 1) % M.stopResendPolls == 0 {
                return request(.stop(submissionId: s.id.submissionId, on: url(of: s.id, spec)))
            }
            return request(.fetch(submissionId: s.id.submissionId, on: url(of: s.id, spec)))
        case .none, .ended:
            return deleting(instead: next(wanted, configuration), spec)
        }
    }

    /// No run is in the way: the wanted revision's run is current, or it is submitted.
    private mutating func next(_ wanted: JobSpec?, _ configuration: M.Configuration) -> M.Next {
        guard let want = wanted, want.attachId == nil else { return exitIfDone(configuration) }
        let current = run.runID.flatMap { $0.revision == want.revision ? $0 : nil }
        let earlier = context.ledger.latest(of: want.revision)
        if current != nil || earlier != nil {
            if let earlier, (earlier.sequence ?? 0) > (current?.sequence ?? -1) {
                makeCurrent(earlier)
                return decide(configuration)
            }
            if case .ended(let finished, let details) = run {
                if finished.killed, !want.kill {
                    // kill went back to "false": the suspended job runs again, as a new submission.
                    return submitNew(want, attempt: 1, retryOf: nil)
                }
                if let retry = retry(finished, details, want, configuration) { return retry }
            }
            return exitIfDone(configuration)
        }
        if want.kill { return .nothing }
        if context.rejected?.revision == want.revision { return .nothing }
        if let settleUntil = context.edits.settleUntil, context.now.elapsed < settleUntil {
            // Edits are still coming: wait for them to pause, then run only the newest.
            return .sleep(settleUntil - context.now.elapsed)
        }
        return submitNew(want, attempt: 1, retryOf: nil)
    }

    /// The intent of a new submission (the next sequence number, so its own id) goes into the
    /// journal, then the POST.
    private mutating func submitNew(_ want: JobSpec, attempt: Int, retryOf: (M.Finished, RayJobDetails)?) -> M.Next {
        let sequence = context.ledger.nextSequence
        let id = M.RunID(
            submissionId: RunRecord.submissionId(jobName: context.jobName, sequence: sequence, revision: want.revision), revision: want.revision,
            sequence: sequence, rayURL: want.rayURL, attempt: attempt)
        context.ledger.nextSequence = sequence + 1
        makeCurrent(.intent(id, retryOf: retryOf))
        if context.ledger.runs.count >= Journal.maxRuns { context.ledger.runs.removeFirst(context.ledger.runs.count - Journal.maxRuns + 1) }
        context.rejected = nil
        return request(.submit(RunRecord(id, submitted: false), want))
    }

    /// A running run is stopped for `kill`, and for another revision (not in attach mode).
    private func stopCause(_ id: M.RunID, _ wanted: JobSpec?) -> M.StopCause? {
        guard let wanted else { return nil }
        if wanted.kill { return .kill }
        return wanted.attachId == nil && wanted.revision != id.revision ? .replaced : nil
    }

    private mutating func poll(_ s: M.Submitted, _ spec: JobSpec, every interval: Duration, polls: Int) -> M.Next {
        guard consumeWake() else {
            // Early transitions (SUBMITTED -> PENDING -> RUNNING) come fast: ramp 1 s, 2 s, 4 s... up to the interval.
            return .sleep(min(.seconds(1 << min(polls, 10)), interval))
        }
        switch run {
        case .live(let s, let details, let polls): run = .live(s, details, polls: polls + 1)
        case .stopping(let s, let cause, let details, let polls, let sent): run = .stopping(s, cause, details, polls: polls + 1, sent: sent)
        case .none, .intent, .unread, .recordedEnd, .ended: break
        }
        return request(.fetch(submissionId: s.id.submissionId, on: url(of: s.id, spec)))
    }

    private mutating func exitIfDone(_ configuration: M.Configuration) -> M.Next {
        guard configuration.exitOnCompletion, case .ended(_, let details) = run else { return .nothing }
        return .exit(code: details.status == .succeeded ? 0 : 1)
    }

    /// Another run becomes the one monitored; the one before goes back to the ledger.
    private mutating func makeCurrent(_ next: M.Run) {
        if let record = run.record, record.revision != nil { context.ledger.put(record) }
        if let id = next.submissionId { _ = context.ledger.take(id) }
        run = next
    }

    private mutating func makeCurrent(_ record: RunRecord) {
        _ = context.ledger.take(record.submissionId)
        makeCurrent(M.Run(restoring: record))
    }

    /// The cluster a run lives on: where it was submitted, whatever `resourceURL` says now.
    private func url(of id: M.RunID, _ spec: JobSpec) -> URL {
        id.rayURL ?? spec.rayURL
    }

    // MARK: Lifecycle: backoffLimit, activeDeadlineSeconds

    /// The ended run gets another attempt: it failed or was lost (not stopped by a kill, an edit or
    /// its deadline), and `backoffLimit` leaves attempts.
    static func retryable(_ finished: M.Finished, _ details: RayJobDetails, _ want: JobSpec) -> Bool {
        guard finished.run.id.revision == want.revision, !finished.killed else { return false }
        switch finished.reason {
        case .deadlineExceeded: return false
        case .lost, .preRunningDeadlineExceeded: break
        case nil: guard !finished.stopRequested, details.status == .failed else { return false }
        }
        return finished.run.id.attempt < want.maxAttempts
    }

    /// When the attempt after `finished` is due: its backoff after the time it ended.
    static func retryDue(after finished: M.Finished, scale: Double) -> Date? {
        finished.endedAt.map { $0 + (M.retryBackoff.delay(afterFailures: finished.run.id.attempt) * scale).timeInterval }
    }

    /// The current run ended and may be retried: wait out the backoff, then submit the next
    /// attempt. Nil when it is not retried (the caller goes on as for any ended run).
    private mutating func retry(_ finished: M.Finished, _ details: RayJobDetails, _ want: JobSpec, _ configuration: M.Configuration) -> M.Next? {
        guard Self.retryable(finished, details, want) else { return nil }
        if want.kill {
            // A kill during the backoff ends the series: setting kill back does not rerun it.
            var killed = finished
            killed.stopRequested = true
            killed.killed = true
            run = .ended(killed, details)
            return exitIfDone(configuration)
        }
        if context.rejected?.revision == want.revision { return .nothing }
        if let due = Self.retryDue(after: finished, scale: configuration.backoffScale), context.now.date < due {
            return .sleep(.seconds(due.timeIntervalSince(context.now.date)))
        }
        return submitNew(want, attempt: finished.run.id.attempt + 1, retryOf: (finished, details))
    }

    /// The run's deadline, if the active spec sets one and the run is ours (an attached run is
    /// not ours to stop) and its submission time is known.
    private static func deadline(of s: M.Submitted, _ spec: JobSpec) -> Date? {
        guard s.id.revision != nil, let seconds = spec.activeDeadline, let submitted = s.submittedAt else { return nil }
        return submitted + seconds.timeInterval
    }

    /// When a run that is not RUNNING yet is stopped, if the active spec says so and it is ours.
    private static func preRunningDeadline(of s: M.Submitted, _ details: RayJobDetails, _ spec: JobSpec) -> Date? {
        guard s.id.revision != nil, details.status == .pending, let seconds = spec.preRunningDeadline, let submitted = s.submittedAt else {
            return nil
        }
        return submitted + seconds.timeInterval
    }

    /// The deadline that has passed, if any.
    private func deadlinePassed(_ s: M.Submitted, _ details: RayJobDetails, _ spec: JobSpec) -> M.StopCause? {
        if let deadline = Self.deadline(of: s, spec), context.now.date >= deadline { return .deadline }
        if let deadline = Self.preRunningDeadline(of: s, details, spec), context.now.date >= deadline { return .preRunningDeadline }
        return nil
    }

    /// The time left to the nearest deadline, to wake up for it; nil without one.
    private func untilDeadline(_ s: M.Submitted, _ details: RayJobDetails, _ spec: JobSpec) -> Duration? {
        let deadlines = [Self.deadline(of: s, spec), Self.preRunningDeadline(of: s, details, spec)].compactMap { $0 }
        guard let nearest = deadlines.min() else { return nil }
        return .seconds(max(nearest.timeIntervalSince(context.now.date), 0))
    }

    // MARK: keepFinishedRuns

    /// A `DELETE` of the oldest finished run beyond `keepFinishedRuns` instead of `step`, when
    /// `step` would only wait: deleting never delays a submission, a stop or a poll.
    private mutating func deleting(instead step: M.Next, _ spec: JobSpec) -> M.Next {
        switch step {
        case .nothing, .sleep: break
        case .request, .exit: return step
        }
        guard let record = deletable(spec) else { return step }
        return request(.delete(submissionId: record.submissionId, on: record.rayURL ?? spec.rayURL))
    }

    /// The oldest finished run of this job name beyond `keepFinishedRuns`: never the newest run
    /// (a wiped status directory recovers from it without submitting again), never the current one,
    /// never one whose log is not complete in S3 yet.
    private func deletable(_ spec: JobSpec) -> RunRecord? {
        guard let keep = spec.keepFinishedRuns else { return nil }
        let current = run.record
        let runs = context.ledger.runs + [current].compactMap { $0 }
        let newest = runs.compactMap(\.sequence).max()
        let finished = runs.filter { $0.revision != nil && $0.outcome != nil && $0.deleted != true }
        guard finished.count > keep else { return nil }
        return context.ledger.runs.first { record in
            guard record.revision != nil, record.outcome != nil, record.deleted != true, record.sequence != newest,
                !context.undeletable.contains(record.submissionId), context.logs.shipping[record.submissionId] == nil
            else { return false }
            let complete = context.logs.complete.contains(record.submissionId) || record.logComplete == true
            return spec.s3 == nil ? record.logComplete != false || complete : complete
        }
    }
}

// MARK: - Draining

extension ReconcilerStateMachine.Draining {
    typealias M = ReconcilerStateMachine

    /// The watch goes; shipments of runs still going are left; returns the last request to send.
    mutating func begin(_ configuration: M.Configuration) -> RayRequest? {
        if context.logs.watching, let id = context.logs.watched {
            context.logs.watching = false
            context.effects.orders.append(.unwatch(submissionId: id))
        }
        guard case .shutdown = reason else { return nil }
        if let s = run.submitted, run.mayBeLive {
            let url = s.id.rayURL ?? context.desired.active?.rayURL ?? context.cluster?.url
            if configuration.stopOnExit, let url {
                last = (.stop(submissionId: s.id.submissionId, on: url), context.now.elapsed + M.lastRequestTimeout)
            } else if context.logs.shipping[s.id.submissionId] != nil, let url {
                // The run may have ended since it was last read: one look decides whether its log
                // is completed now or left for the next start.
                last = (.fetch(submissionId: s.id.submissionId, on: url), context.now.elapsed + M.lastRequestTimeout)
            }
        }
        leaveUnfinished(stopOnExit: configuration.stopOnExit)
        return last?.request
    }

    /// Leaves the shipments of runs still going, except the current one while the last request
    /// about it is out, or while `--stop-on-exit` ends it (its log then completes like any other).
    mutating func leaveUnfinished(stopOnExit: Bool) {
        guard case .shutdown = reason else { return }
        for (id, shipment) in context.logs.shipping where !shipment.left && !isOver(id, shipment) {
            if id == run.submissionId, last != nil || (stopOnExit && run.mayBeLive) { continue }
            leave(id, why: "the run goes on; the next start ships the rest")
        }
    }

    mutating func leave(_ id: String, why: String) {
        context.logs.shipping[id]?.left = true
        context.logs.progress[id]?.resumable = true
        context.effects.orders.append(.leave(submissionId: id, because: why))
    }

    private func isOver(_ id: String, _ shipment: M.Shipment) -> Bool {
        if shipment.endNoticed { return true }
        if id == run.submissionId { return run.isOver }
        return context.ledger.runs.first { $0.submissionId == id }?.outcome != nil
    }
}

// MARK: - Logs

extension ReconcilerStateMachine.Context {
    typealias M = ReconcilerStateMachine

    /// Starts what the current run and the leftovers need: with S3 (or standard output) every
    /// submitted run's log is shipped until it is complete (also after the run ended: an attach,
    /// a restart); without either, a run that may be live is followed only to notice its end quickly.
    mutating func follow(_ run: M.Run, stdout: Bool) {
        guard let spec = desired.active else { return }
        if spec.s3 != nil || stdout, !logs.leftovers.isEmpty {
            for leftover in logs.leftovers where leftover.submissionId != run.submissionId {
                let url = leftover.rayURL ?? ledger.runs.first { $0.submissionId == leftover.submissionId }?.rayURL ?? spec.rayURL
                let version = leftover.rayVersion ?? releases[url]?.version
                ship(M.LogFollowPlan(submissionId: leftover.submissionId, rayURL: url, rayVersion: version, ship: spec.s3, stdout: stdout))
            }
            logs.leftovers = []
        }
        var watch: M.LogFollowPlan?
        if let s = run.submitted {
            let url = s.id.rayURL ?? spec.rayURL
            // Its release must be known first: how the log reads depends on it.
            if let cluster = releases[url] {
                let plan = M.LogFollowPlan(
                    submissionId: s.id.submissionId, rayURL: url, rayVersion: cluster.version, ship: spec.s3, stdout: stdout)
                if plan.readsLog {
                    ship(plan)
                } else if run.mayBeLive {
                    watch = plan
                }
            }
        }
        if logs.watching, let id = logs.watched, id != watch?.submissionId {
            logs.watching = false
            effects.orders.append(.unwatch(submissionId: id))
        }
        if let watch, logs.watched != watch.submissionId {
            logs.watched = watch.submissionId
            logs.watching = true
            effects.orders.append(.watch(watch))
        }
        // Progress is kept for the current run and the running shipments only, and completeness for
        // the runs the ledger still has: a pod that lives for months sees thousands of revisions.
        for id in logs.progress.keys where id != run.submissionId && logs.shipping[id] == nil { logs.progress[id] = nil }
        if logs.complete.count > ledger.runs.count + 1 {
            let known = Set(ledger.runs.map(\.submissionId) + [run.submissionId].compactMap { $0 })
            logs.complete.formIntersection(known)
        }
    }

    private mutating func ship(_ plan: M.LogFollowPlan) {
        let id = plan.submissionId
        guard logs.shipping[id] == nil, !logs.complete.contains(id) else { return }
        logs.shipping[id] = M.Shipment(plan: plan)
        effects.orders.append(.ship(plan))
    }
}

extension ReconcilerStateMachine.Logs {
    typealias M = ReconcilerStateMachine

    mutating func noticed(_ details: RayJobDetails) {
        guard details.status.isTerminal, let id = details.submissionId else { return }
        shipping[id]?.endNoticed = true
    }

    mutating func record(_ id: String, _ shipment: StatusSnapshot.LogShipment, current: String?) {
        guard id == current || shipping[id] != nil else { return }
        var shipment = shipment
        shipment.resumable = shipping[id]?.left == true && !shipment.complete
        progress[id] = shipment
    }

    mutating func ended(_ id: String, complete: Bool) {
        shipping[id] = nil
        if complete {
            self.complete.insert(id)
            progress[id]?.complete = true
            progress[id]?.resumable = false
        }
    }
}

// MARK: - Status

extension ReconcilerStateMachine {
    private func snapshot(_ context: Context, _ run: Run, failures: FailureStreak?) -> StatusSnapshot {
        var s: StatusSnapshot
        let retry = failures.map { "\($0.message) (attempt \($0.count), retrying)" }
        let details = run.details
        switch context.desired {
        case .unread:
            s = StatusSnapshot(jobStatus: .waiting, message: "reading the ConfigMap")
        case .invalid(let problems, _):
            s = Self.invalid(problems, run)
        case .valid(let spec):
            let unsupported = context.cluster.map { spec.unsupported(by: $0.version) } ?? []
            if !unsupported.isEmpty {
                s = Self.invalid(unsupported, run)
            } else if case .stopping(let r, _, let details?, _, _) = run, !spec.kill, spec.attachId == nil, r.id.revision != spec.revision {
                s = StatusSnapshot(
                    jobStatus: JobState(details.status),
                    message: retry ?? "stopping run \(r.id.submissionId) for the new revision, which is submitted once Ray reports it ended")
            } else if let details {
                s = StatusSnapshot(jobStatus: JobState(details.status), message: retry ?? details.message ?? "")
            } else if let rejected = context.rejected, rejected.revision == spec.revision {
                s = StatusSnapshot(jobStatus: .invalid, message: rejected.message)
            } else if run.submitted != nil {
                s = StatusSnapshot(jobStatus: .submitted, message: retry ?? "")
            } else if let retry {
                s = StatusSnapshot(jobStatus: .waiting, message: retry)
            } else if spec.kill {
                s = StatusSnapshot(jobStatus: .waiting, message: "kill is \"true\": nothing is submitted")
            } else {
                s = StatusSnapshot(jobStatus: .waiting, message: "submitting")
            }
            s.revision = spec.revision.hex
            if s.jobStatus != .invalid { Self.lifecycle(&s, spec, context, run, retrying: retry != nil, backoffScale: configuration.backoffScale) }
        }
        if let record = run.record {
            s.submissionId = record.submissionId
            s.submitTime = record.submittedAt
            s.runRevision = record.revision?.hex
            s.sequence = record.sequence
        }
        s.rayVersion = context.cluster?.version?.text
        if let details {
            s.rayStatus = details.status.rawValue
            s.startTime = details.startTime
            s.endTime = details.endTime
            s.errorType = details.errorType
            s.driverExitCode = details.driverExitCode
        }
        if let id = run.submissionId { s.log = context.logs.progress[id] }
        return s
    }

    /// Problems with the ConfigMap (or what the cluster lacks for it): the run goes on untouched.
    private static func invalid(_ problems: [ConfigProblem], _ run: Run) -> StatusSnapshot {
        let note = run.submissionId.map { "\nrun \($0) is left as it is" } ?? ""
        return StatusSnapshot(jobStatus: .invalid, message: problems.summary + note)
    }

    /// Adds the attempt, the attempts and the reason to `s`, and says in the message which
    /// attempt this is, when the next one follows, or why the run ended `FAILED`.
    /// `retrying`: the message is about a failing request already, and stays.
    private static func lifecycle(
        _ s: inout StatusSnapshot, _ spec: JobSpec, _ context: Context, _ run: Run, retrying: Bool, backoffScale: Double
    ) {
        guard let current = run.record, let revision = current.revision else { return }
        let attempts = (context.ledger.runs.filter { $0.revision == revision } + [current]).sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }
        s.attempt = current.attemptNumber
        s.attempts = attempts.map { .init(submissionId: $0.submissionId, outcome: $0.outcomeText) }
        let total = max(spec.maxAttempts, current.attemptNumber)
        let of = "attempt \(current.attemptNumber) of \(total)"
        let deadline = spec.activeDeadline.map { "activeDeadlineSeconds (\(Int($0.timeInterval)) s)" } ?? "activeDeadlineSeconds"
        let preRunning = spec.preRunningDeadline.map { "preRunningDeadlineSeconds (\(Int($0.timeInterval)) s)" } ?? "preRunningDeadlineSeconds"
        switch run {
        case .ended(let finished, let details):
            s.reason = finished.reason
            if finished.reason != nil { s.jobStatus = .failed }
            if finished.reason == .deadlineExceeded {
                s.message = "the run was not over \(deadline) after its submission, so it was stopped; not retried"
            }
            if finished.reason == .preRunningDeadlineExceeded {
                s.message = "the run was not RUNNING \(preRunning) after its submission (resources, runtime env?), so it was stopped"
            }
            if finished.killed {
                s.message =
                    spec.kill
                    ? "stopped because kill is \"true\"; setting it to \"false\" runs the job again, as a new submission"
                    : "stopped because kill was \"true\"; it runs again now that kill is \"false\""
            }
            if Reconciling.retryable(finished, details, spec), !spec.kill, context.rejected?.revision != spec.revision {
                // Not over yet: an app waiting for a terminal status must not take this one.
                s.jobStatus = .waiting
                if !retrying {
                    let what =
                        switch finished.reason {
                        case .lost: "was lost"
                        case .preRunningDeadlineExceeded: "was not RUNNING within \(preRunning)"
                        case .deadlineExceeded, nil: "failed"
                        }
                    let next = "attempt \(current.attemptNumber + 1) of \(total) \(whenNext(after: finished, context, backoffScale: backoffScale))"
                    s.message = "\(of) \(what): \(details.message ?? "")\n\(next)"
                }
            } else if details.status == .failed || finished.reason == .preRunningDeadlineExceeded, finished.reason != .deadlineExceeded,
                current.attemptNumber > 1, !retrying
            {
                s.message = "failed after \(current.attemptNumber) attempts: \(s.message)"
            }
        case .stopping(_, .deadline, _, _, _):
            if !retrying { s.message = "\(deadline) passed since the submission: stopping the run" }
        case .stopping(_, .preRunningDeadline, _, _, _):
            if !retrying { s.message = "\(preRunning) passed since the submission and the run is not RUNNING: stopping it" }
        case .none, .intent, .unread, .live, .stopping, .recordedEnd:
            if total > 1, !retrying { s.message = s.message.isEmpty ? of : "\(of): \(s.message)" }
        }
        // The earlier attempts Ray lost are named: their logs in S3 end where Ray forgot them.
        for earlier in attempts where earlier.reason == .lost && earlier.submissionId != current.submissionId {
            s.message += "\nattempt \(earlier.attemptNumber) (\(earlier.submissionId)) was lost: Ray no longer knew it"
        }
    }

    private static func whenNext(after finished: Finished, _ context: Context, backoffScale: Double) -> String {
        guard let due = Reconciling.retryDue(after: finished, scale: backoffScale) else { return "follows shortly" }
        let seconds = Int(due.timeIntervalSince(context.now.date).rounded(.up))
        return seconds > 0 ? "is submitted in \(seconds) s" : "is being submitted"
    }
}

// MARK: - Reading a run

extension ReconcilerStateMachine.Run {
    typealias M = ReconcilerStateMachine

    /// The run after Ray said `details` about it at `date`. A run seen to end here (not one the
    /// journal already had ended) is counted in `effects`.
    func reading(_ details: RayJobDetails, at date: Date, effects: inout M.Effects) -> M.Run {
        // Runs found after a restart, attached or answered "duplicate": Ray's time of submission.
        func submitted(_ s: M.Submitted) -> M.Submitted {
            var s = s
            if s.submittedAt == nil, let ms = details.startTime, ms > 0 { s.submittedAt = Date(timeIntervalSince1970: TimeInterval(ms) / 1000) }
            return s
        }
        func ended(_ s: M.Submitted, stopRequested: Bool, reason: RunEndReason?) -> M.Run {
            let finished = M.Finished(run: s, outcome: JobState(details.status), endedAt: date, stopRequested: stopRequested, reason: reason)
            if s.id.revision != nil { effects.ends.append(M.RunEnd(finished)) }
            return .ended(finished, details)
        }
        switch self {
        case .none:
            return self
        case .intent(let id, _):
            // A checked intent did reach Ray before the restart.
            let s = submitted(M.Submitted(id: id, submittedAt: nil))
            return details.status.isTerminal ? ended(s, stopRequested: false, reason: nil) : .live(s, details, polls: 0)
        case .unread(let s):
            return details.status.isTerminal ? ended(submitted(s), stopRequested: false, reason: nil) : .live(submitted(s), details, polls: 0)
        case .live(let s, _, let polls):
            return details.status.isTerminal ? ended(submitted(s), stopRequested: false, reason: nil) : .live(submitted(s), details, polls: polls)
        case .stopping(let s, let cause, _, let polls, let sent):
            if details.status.isTerminal {
                guard case .ended(var finished, let details) = ended(submitted(s), stopRequested: true, reason: cause.reason) else { return self }
                finished.killed = cause == .kill
                return .ended(finished, details)
            }
            return .stopping(submitted(s), cause, details, polls: polls, sent: sent)
        case .recordedEnd(let finished):
            // Ray's word stands over the journal's, which said it ended.
            return details.status.isTerminal ? .ended(finished, details) : .live(finished.run, details, polls: 0)
        case .ended(let finished, _):
            return .ended(finished, details)
        }
    }
}

extension ReconcilerStateMachine.RunEnd {
    fileprivate init(_ finished: ReconcilerStateMachine.Finished) {
        let outcome = finished.reason?.rawValue ?? finished.outcome.rawValue
        let duration = finished.run.submittedAt.flatMap { start in finished.endedAt.map { Duration.seconds(max($0.timeIntervalSince(start), 0)) } }
        self.init(
            submissionId: finished.run.id.submissionId, attempt: finished.run.id.attempt, status: finished.reason == nil ? finished.outcome : .failed,
            outcome: outcome, duration: duration)
    }
}

extension RunRecord {
    fileprivate init(_ id: ReconcilerStateMachine.RunID, submitted: Bool) {
        self.init(
            submissionId: id.submissionId, revision: id.revision, sequence: id.sequence, submitted: submitted, rayURL: id.rayURL,
            attempt: id.attempt)
    }
}

extension JobState {
    /// A run's state as Ray reported it.
    init(_ status: RayJobStatus) {
        switch status {
        case .pending: self = .pending
        case .running: self = .running
        case .stopped: self = .stopped
        case .succeeded: self = .succeeded
        case .failed: self = .failed
        }
    }

    /// Ray's status for a terminal outcome kept in the journal.
    var rayStatus: RayJobStatus {
        switch self {
        case .succeeded: .succeeded
        case .stopped: .stopped
        default: .failed
        }
    }
}
