import Foundation
import RayBridgeClients
import RayBridgeCore

extension ReconcilerStateMachine {
    /// The run being monitored and what is known of it; each case carries what is true in it, so
    /// "observed but never submitted" or "counting stop polls of a running run" cannot be written.
    ///
    /// The journal keeps the same facts as `RunRecord.submitted` and `.stopRequested` (its format
    /// predates the phases); `phase(of:)` reads them back after a restart.
    enum RunPhase: Sendable, Equatable {
        /// No run yet, or the last intent was dropped.
        case none
        /// In the journal before its POST: it may or may not have reached Ray, so it is checked
        /// before anything else (and submitted under the same id if Ray does not know it).
        case intent(RunRecord)
        /// Submitted, attached or found on the cluster; its state not read yet.
        case unread(RunRecord)
        /// Ray said it is not terminal. `polls`: wake-ups since it became current (the poll ramps up).
        case live(RunRecord, RayJobDetails, polls: Int)
        /// A stop was sent; Ray has not said it ended. `polls`: wake-ups since the stop.
        case stopping(RunRecord, RayJobDetails?, polls: Int)
        /// Terminal (or lost): nothing more to ask Ray about it.
        case ended(RunRecord, RayJobDetails)

        /// A run from the journal or the cluster, before anything is read about it.
        static func of(_ run: RunRecord) -> RunPhase {
            if !run.submitted { return .intent(run) }
            if run.stopRequested { return .stopping(run, nil, polls: 0) }
            return .unread(run)
        }

        var record: RunRecord? {
            switch self {
            case .none: nil
            case .intent(let run), .unread(let run), .live(let run, _, _), .stopping(let run, _, _), .ended(let run, _): run
            }
        }

        var details: RayJobDetails? {
            switch self {
            case .none, .intent, .unread: nil
            case .live(_, let details, _), .ended(_, let details): details
            case .stopping(_, let details, _): details
            }
        }

        var isSubmitted: Bool {
            switch self {
            case .none, .intent: false
            case .unread, .live, .stopping, .ended: true
            }
        }

        var isEnded: Bool {
            if case .ended = self { return true }
            return false
        }

        /// The phase after Ray said `details` about the run.
        func reading(_ details: RayJobDetails) -> RunPhase {
            guard var run = record else { return self }
            // A checked intent did reach Ray before the restart.
            run.submitted = true
            // Runs found after a restart, attached or answered "duplicate": Ray's time of submission.
            if run.submittedAt == nil, let ms = details.startTime, ms > 0 {
                run.submittedAt = Date(timeIntervalSince1970: TimeInterval(ms) / 1000)
            }
            if details.status.isTerminal { return .ended(run, details) }
            switch self {
            case .stopping(_, _, let polls): return .stopping(run, details, polls: polls)
            case .live(_, _, let polls): return .live(run, details, polls: polls)
            default: return .live(run, details, polls: 0)
            }
        }
    }
}
