import Foundation
import RayBridgeClients
import RayBridgeCore

/// The answers to the requests the machine asked for.
extension ReconcilerStateMachine {
    /// The cluster's jobs, for recovery without a journal.
    public mutating func recovered(_ jobs: [RayJobDetails]) -> Action {
        answered()
        needsRecovery = false
        var runs: [RunRecord] = []
        var maxSequence = journal.nextSequence - 1
        var latest: RunRecord?
        for job in jobs {
            guard let meta = job.metadata, meta["raybridge.job"] == jobName, let id = job.submissionId,
                let revHex = meta["raybridge.revision"], let seq = meta["raybridge.sequence"].flatMap({ Int($0) })
            else { continue }
            let run = Self.found(job, id: id, revision: Revision(hex: revHex), sequence: seq, on: cluster?.url, deadline: activeSpec?.activeDeadline)
            maxSequence = max(maxSequence, seq)
            runs.append(run)
            if (latest?.sequence ?? -1) < seq { latest = run }
        }
        // Every attempt of a revision is kept (status.json lists them); the newest `maxRuns` runs.
        journal.runs = Array(runs.sorted { ($0.sequence ?? 0) < ($1.sequence ?? 0) }.suffix(Journal.maxRuns))
        journal.nextSequence = maxSequence + 1
        if let latest { makeCurrent(latest) }
        return decide()
    }

    public mutating func versionRead(_ version: RayVersion?, at url: URL) -> Action {
        answered()
        cluster = Cluster(url: url, version: version)
        releases[url] = version
        return decide()
    }

    public mutating func observed(_ details: RayJobDetails, at date: Date? = nil) -> Action {
        answered()
        if let date { self.date = date }
        set(phase.reading(details))
        return decide()
    }

    /// The POST was answered. `date`: when, for the status's `submitTime` and the deadline.
    public mutating func submitted(at date: Date) -> Action {
        answered()
        self.date = max(self.date ?? date, date)
        if var run = phase.record {
            run.submitted = true
            run.submittedAt = run.submittedAt ?? date
            set(.unread(run))
        }
        return decide()
    }

    public mutating func stopSent() -> Action {
        answered()
        return decide()
    }

    public mutating func requestFailed(_ error: RayClientError, at date: Date? = nil) -> Action {
        guard case .requesting(let request, let failures) = activity else { return .none }
        if let date { self.date = date }
        switch (request, error) {
        case (.submit, .duplicateSubmission):
            // Ray has this id already: the run was submitted, by us, before a restart. Its submit
            // time is Ray's (`start_time`), read with its state.
            answered()
            if var run = phase.record {
                run.submitted = true
                set(.unread(run))
            }
        case (.fetch, .notFound):
            answered()
            guard let run = phase.record else { break }
            if !phase.isSubmitted {
                // The intent never reached Ray: forget it; the same id is built again if still wanted.
                dropIntent()
            } else if run.revision == nil {
                let message = "Ray has no job with submission id \(run.submissionId) (the id key)"
                set(.ended(run, RayJobDetails(submissionId: run.submissionId, status: .failed, message: message, errorType: "RAYBRIDGE_RUN_LOST")))
            } else {
                // Gone from the cluster (head restarted without persistence): a failed attempt,
                // retried only while backoffLimit leaves attempts.
                lost(run)
            }
        case (.stop, .notFound):
            answered()
        case (.submit, .rejected(_, let body)):
            answered()
            reject { "Ray rejected the submission of \($0): \(body.prefix(1000))" }
        default:
            if error.meansUnreachable { cluster = nil }
            if request == .stop, case .stopping(var run, let details, 0) = phase {
                // The stop did not reach Ray: it is sent again after the backoff.
                run.stopRequested = false
                set(details.map { .live(run, $0, polls: 0) } ?? .unread(run))
            }
            activity = .waiting(wakeDue: false, failures: FailureStreak(message: error.description, count: (failures?.count ?? 0) + 1))
        }
        return decide()
    }

    /// Building the submission failed before Ray was asked (an S3 script or parameters file, the
    /// journal). Permanent problems wait for the next edit; others are retried with backoff.
    public mutating func preparationFailed(_ message: String, retryable: Bool) -> Action {
        if retryable {
            activity = .waiting(wakeDue: false, failures: FailureStreak(message: message, count: (activity.failures?.count ?? 0) + 1))
            // The POST was never sent: the intent goes, so that the retry is not preceded by a
            // check of it (whose answer would look like success and reset the backoff).
            dropIntent()
        } else {
            answered()
            reject { _ in message }
        }
        return decide()
    }

    /// A request was answered: the failure streak is over.
    mutating func answered() {
        if activity != .finished { activity = .waiting(wakeDue: false, failures: nil) }
    }

    mutating func reject(_ message: (String) -> String) {
        guard case .intent(let run) = phase, let revision = run.revision else { return }
        rejected = (revision, message(run.submissionId))
        dropIntent()
    }

    /// Forgets the current intent, whose POST never reached Ray; its id is built again.
    mutating func dropIntent() {
        guard case .intent(let run) = phase, run.revision != nil else { return }
        journal.runs.removeAll { $0.submissionId == run.submissionId }
        journal.nextSequence = min(journal.nextSequence, run.sequence ?? journal.nextSequence)
        journal.currentId = nil
        phase = .none
        // A retry's POST that never went out: the attempt it follows is current again, as it
        // ended (not read again, which would reset the backoff of the failures).
        if let (previous, details) = previousAttempt, previous.revision == run.revision,
            let record = journal.runs.first(where: { $0.submissionId == previous.submissionId })
        {
            journal.currentId = record.submissionId
            phase = .ended(record, details)
        }
    }
}
