import Foundation
import RayBridgeClients
import RayBridgeCore

/// What the status says about attempts, deadlines and lost runs.
extension ReconcilerStateMachine {
    /// Adds the attempt, the attempts and the reason to `s`, and says in the message which
    /// attempt this is, when the next one follows, or why the run ended `FAILED`.
    /// `retrying`: the message is about a failing request already, and stays.
    func lifecycle(_ s: inout StatusSnapshot, _ spec: JobSpec, retrying: Bool) {
        guard let run = phase.record, run.revision != nil else { return }
        let attempts = attemptsOfCurrent
        s.attempt = run.attemptNumber
        s.attempts = attempts.map { .init(submissionId: $0.submissionId, outcome: $0.outcomeText) }
        let total = max(spec.maxAttempts, run.attemptNumber)
        let of = "attempt \(run.attemptNumber) of \(total)"
        let deadline = spec.activeDeadline.map { "activeDeadlineSeconds (\(Int($0.timeInterval)) s)" } ?? "activeDeadlineSeconds"
        switch phase {
        case .ended(let run, let details):
            s.reason = run.reason
            if run.reason != nil { s.jobStatus = .failed }
            if run.reason == .deadlineExceeded {
                s.message = "the run was not over \(deadline) after its submission, so it was stopped; not retried"
            }
            if retryable(run, details, spec), !spec.kill, rejected?.revision != spec.revision {
                // Not over yet: an app waiting for a terminal status must not take this one.
                s.jobStatus = .waiting
                if !retrying {
                    let what = run.reason == .lost ? "was lost" : "failed"
                    s.message = "\(of) \(what): \(details.message ?? "")\nattempt \(run.attemptNumber + 1) of \(total) \(whenNext(after: run))"
                }
            } else if details.status == .failed, run.reason != .deadlineExceeded, run.attemptNumber > 1, !retrying {
                s.message = "failed after \(run.attemptNumber) attempts: \(s.message)"
            }
        case .stopping(let run, _, _) where run.reason == .deadlineExceeded:
            if !retrying { s.message = "\(deadline) passed since the submission: stopping the run" }
        default:
            if total > 1, !retrying { s.message = s.message.isEmpty ? of : "\(of): \(s.message)" }
        }
        // The earlier attempts Ray lost are named: their logs in S3 end where Ray forgot them.
        for earlier in attempts where earlier.reason == .lost && earlier.submissionId != run.submissionId {
            s.message += "\nattempt \(earlier.attemptNumber) (\(earlier.submissionId)) was lost: Ray no longer knew it"
        }
    }

    private func whenNext(after run: RunRecord) -> String {
        guard let due = retryDue(after: run), let date else { return "follows shortly" }
        let seconds = Int(due.timeIntervalSince(date).rounded(.up))
        return seconds > 0 ? "is submitted in \(seconds) s" : "is being submitted"
    }
}
