import Foundation
import RayBridgeClients
import RayBridgeCore

/// `backoffLimit`, `activeDeadlineSeconds` and lost runs: when a run gets another attempt, when
/// it is stopped for its deadline. Wall time comes in with the events (`date`); the deadline and
/// the backoff count from times kept in the journal, so both survive a restart.
extension ReconcilerStateMachine {
    /// The wait before attempt n+1 after attempt n failed: 10 s, doubling, at most 5 minutes.
    public static let retryBackoff = Backoff(initial: .seconds(10), maximum: .seconds(300))

    /// The ended run gets another attempt: it failed or was lost (not stopped by a kill, an edit or
    /// its deadline), and `backoffLimit` leaves attempts.
    func retryable(_ run: RunRecord, _ details: RayJobDetails, _ want: JobSpec) -> Bool {
        guard run.revision == want.revision, !run.stopRequested, run.reason != .deadlineExceeded else { return false }
        guard details.status == .failed || run.reason == .lost else { return false }
        return run.attemptNumber < want.maxAttempts
    }

    /// When the attempt after `run` is due: its backoff after the time it ended.
    func retryDue(after run: RunRecord) -> Date? {
        run.endedAt.map { $0 + Self.retryBackoff.delay(afterFailures: run.attemptNumber).timeInterval }
    }

    /// The current run ended and may be retried: wait out the backoff, then submit the next
    /// attempt. Nil when it is not retried (the caller goes on as for any ended run).
    mutating func retry(_ run: RunRecord, _ details: RayJobDetails, _ want: JobSpec) -> Action? {
        guard retryable(run, details, want) else { return nil }
        if want.kill {
            // A kill during the backoff ends the series: setting kill back does not rerun it.
            var killed = run
            killed.stopRequested = true
            set(.ended(killed, details))
            return exitIfDone()
        }
        if rejected?.revision == want.revision { return Action.none }
        if let due = retryDue(after: run), let date, date < due {
            return .sleep(.seconds(due.timeIntervalSince(date)))
        }
        previousAttempt = (run, details)
        return submitNew(want, attempt: run.attemptNumber + 1)
    }

    /// The run's deadline, if the active spec sets one and the run is ours (an attached run is
    /// not ours to stop) and its submission time is known.
    func deadline(of run: RunRecord) -> Date? {
        guard run.revision != nil, let seconds = activeSpec?.activeDeadline, let submitted = run.submittedAt else { return nil }
        return submitted + seconds.timeInterval
    }

    func deadlinePassed(_ run: RunRecord) -> Bool {
        guard let deadline = deadline(of: run), let date else { return false }
        return date >= deadline
    }

    /// The time left to the deadline, to wake up for it; nil without one.
    func untilDeadline(_ run: RunRecord) -> Duration? {
        guard let deadline = deadline(of: run), let date else { return nil }
        return .seconds(max(deadline.timeIntervalSince(date), 0))
    }

    /// A run seen to end: its outcome and end time go into the journal (the backoff counts from
    /// there), once.
    func withOutcome(_ run: RunRecord, _ details: RayJobDetails) -> RunRecord {
        guard run.outcome == nil else { return run }
        var run = run
        run.outcome = JobState(details.status)
        run.endedAt = date ?? details.endTime.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) }
        return run
    }

    /// Ray no longer knows a run we submitted (a head restarted without persistence): a failed
    /// attempt, retried while attempts are left.
    mutating func lost(_ run: RunRecord) {
        var run = run
        if let outcome = run.outcome {
            // It had ended before Ray forgot it: what was seen then stands.
            set(.ended(run, RayJobDetails(submissionId: run.submissionId, status: outcome.rayStatus, message: "")))
            return
        }
        run.reason = .lost
        let message =
            "Ray no longer knows submission \(run.submissionId) (was the head restarted without persistence?); "
            + "its log in S3, if any, ends where Ray's did"
        set(.ended(run, RayJobDetails(submissionId: run.submissionId, status: .failed, message: message, errorType: "RAYBRIDGE_RUN_LOST")))
    }

    /// A run found on the cluster (no journal): its attempt from the metadata, its outcome from its
    /// state. A run STOPPED at least the deadline after it started was stopped for the deadline.
    static func found(_ job: RayJobDetails, id: String, revision: Revision, sequence: Int, on url: URL?, deadline: Duration?) -> RunRecord {
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
        }
        return run
    }

    /// Every attempt of the current run's revision, oldest first.
    var attemptsOfCurrent: [RunRecord] {
        guard let run = phase.record, let revision = run.revision else { return [] }
        return journal.runs.filter { $0.revision == revision }.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }
    }
}

extension JobState {
    /// Ray's status for a terminal outcome kept in the journal.
    var rayStatus: RayJobStatus {
        switch self {
        case .succeeded: .succeeded
        case .stopped: .stopped
        default: .failed
        }
    }
}
