import Foundation
import Logging
import RayBridgeClients
import RayBridgeCore

/// What the ends of runs mean outside the machine: the metrics, and the log object of a run Ray
/// lost. Read from the journal, before it is saved, so that each end is handled once.
extension Reconciler {
    func lifecycleNews() async {
        let before = Dictionary((savedJournal?.runs ?? []).map { ($0.submissionId, $0) }) { $1 }
        for run in machine.journal.runs where run.outcome != nil && !countedEnds.contains(run.submissionId) {
            // Only ends seen by this process: runs found ended on the cluster at a start are not new.
            guard let earlier = before[run.submissionId], earlier.outcome == nil else { continue }
            countedEnds.insert(run.submissionId)
            let status: JobState = run.reason == nil ? (run.outcome ?? .failed) : .failed
            let duration = run.submittedAt.flatMap { start in run.endedAt.map { Duration.seconds(max($0.timeIntervalSince(start), 0)) } }
            RayBridgeMetrics.runEnded(status: status, outcome: run.outcomeText, duration: duration)
            logger.info(
                "run ended",
                metadata: ["submission": "\(run.submissionId)", "attempt": "\(run.attemptNumber)", "outcome": "\(run.outcomeText)"])
        }
        for run in machine.journal.runs where run.reason == .lost && !abandonedLogs.contains(run.submissionId) {
            abandonedLogs.insert(run.submissionId)
            logger.warning("Ray no longer knows the run; its log object is completed as it is", metadata: ["submission": "\(run.submissionId)"])
            await following?.abandon(run.submissionId)
        }
    }
}
