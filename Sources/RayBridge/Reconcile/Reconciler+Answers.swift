import Foundation
import Logging
import RayBridgeClients
import RayBridgeCore

/// Turns the answers of Ray calls and the log follower's news into state machine events, with the
/// log lines, metrics and health they mean.
extension Reconciler {
    func handle(_ answer: RayAnswer) -> ReconcilerStateMachine.Action {
        switch answer {
        case .version(let version, let url):
            rayAnswered()
            if let version {
                logger.info("connected to Ray", metadata: ["url": "\(url.absoluteString)", "rayVersion": "\(version)"])
                if version < RayVersion.oldestSupported {
                    logger.warning(
                        "Ray \(version) is older than \(RayVersion.oldestSupported), the oldest release raybridge is tested with; carrying on")
                }
            } else {
                logger.warning("Ray's /api/version names no release; assuming the newest", metadata: ["url": "\(url.absoluteString)"])
            }
            RayBridgeMetrics.rayVersion(version?.text, previous: reportedRayVersion)
            reportedRayVersion = version?.text
            return machine.versionRead(version, at: url)
        case .jobs(let jobs):
            rayAnswered()
            let action = machine.recovered(jobs)
            logger.info(
                "looked up earlier runs on the cluster",
                metadata: ["found": "\(machine.journal.runs.count)", "current": "\(machine.currentRun?.run.submissionId ?? "-")"])
            return action
        case .job(let details):
            rayAnswered()
            if details.status != machine.currentRun?.details?.status {
                logger.info("run status", metadata: ["submission": "\(details.submissionId ?? "-")", "status": "\(details.status.rawValue)"])
            }
            return machine.observed(details, at: Date())
        case .submitted(let id, let revision, let date):
            rayAnswered()
            preparationFailures.cleared()
            RayBridgeMetrics.submitted()
            logger.info("submitted", metadata: ["submission": "\(id)", "revision": "\(revision.short)"])
            return machine.submitted(at: date)
        case .stopSent(let id, let wasRunning):
            rayAnswered()
            RayBridgeMetrics.stopped()
            logger.info("stop requested", metadata: ["submission": "\(id)", "wasRunning": "\(wasRunning)"])
            return machine.stopSent()
        case .failed(let error, let call, let id):
            return failed(error, call, id)
        case .preparationFailed(let error, let id):
            if preparationFailures.changed(error.description) {
                logger.error(
                    "cannot prepare the submission", metadata: ["submission": "\(id)", "error": "\(error)", "retrying": "\(error.retryable)"])
            }
            return machine.preparationFailed(error.description, retryable: error.retryable)
        }
    }

    func handle(_ news: FollowEvent) -> ReconcilerStateMachine.Action {
        switch news {
        case .progress:
            // Recorded on the board already; the status is published after every event.
            return .none
        case .runState(let details):
            let before = machine.status
            let action = machine.noticed(details, at: Date())
            if machine.status != before {
                logger.info(
                    "the driver log went quiet and Ray says the run is \(details.status.rawValue)",
                    metadata: ["submission": "\(details.submissionId ?? "-")"])
            }
            return action
        case .done:
            return .none
        }
    }

    private func failed(_ error: RayClientError, _ call: RayCall, _ id: String?) -> ReconcilerStateMachine.Action {
        var metadata: Logger.Metadata = id.map { ["submission": "\($0)"] } ?? [:]
        switch error {
        case .duplicateSubmission:
            logger.info("already submitted before a restart; attaching", metadata: metadata)
        case .notFound where call == .fetchRun:
            // An intent that never reached Ray, or a lost run: the machine says which.
            break
        default:
            if rayFailures.changed("\(call): \(error)") {
                metadata["error"] = "\(error)"
                logger.warning("\(call); retrying with backoff (logged again only when the reason changes)", metadata: metadata)
            }
        }
        switch error {
        case .unreachable, .untrusted, .unauthorized, .server:
            health.ray(reachable: false, problem: error.description)
            RayBridgeMetrics.retried("ray")
        case .notFound, .duplicateSubmission, .rejected:
            health.ray(reachable: true)
        }
        return machine.requestFailed(error, at: Date())
    }

    private func rayAnswered() {
        health.ray(reachable: true)
        if rayFailures.cleared() { logger.info("Ray answers again") }
    }
}
