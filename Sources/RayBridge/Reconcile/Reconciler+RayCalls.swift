import Foundation
import Logging

/// The calls to Ray that the state machine asks for, each turned into the event that answers it.
extension Reconciler {
    /// Once per connection, and again after Ray was unreachable: what the cluster runs decides
    /// what may be sent to it and how its log reads.
    func readVersion(_ url: URL) async -> ReconcilerStateMachine.Action {
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
            logRayFailure("cannot read Ray's version", error, ["url": "\(url.absoluteString)"])
            return failed(error)
        }
    }

    func recover() async -> ReconcilerStateMachine.Action {
        guard let client else { return .none }
        do {
            let jobs = try await client.jobs()
            rayAnswered()
            let action = machine.recovered(jobs)
            logger.info("looked up earlier runs on the cluster", metadata: ["found": "\(machine.journal.runs.count)", "current": "\(machine.currentRun?.run.submissionId ?? "-")"])
            return action
        } catch {
            logRayFailure("cannot list the cluster's jobs", error)
            return failed(error)
        }
    }

    func fetch(_ id: String) async -> ReconcilerStateMachine.Action {
        guard let url = machine.clusterURL(of: id) else { return .none }
        let client = rayClient(url)
        do {
            let details = try await client.job(id)
            rayAnswered()
            if details.status != machine.currentRun?.details?.status {
                logger.info("run status", metadata: ["submission": "\(id)", "status": "\(details.status.rawValue)"])
            }
            return machine.observed(details)
        } catch {
            if case .notFound = error {} else {
                logRayFailure("cannot read the run's state", error, ["submission": "\(id)"])
            }
            return failed(error)
        }
    }

    func stop(_ id: String) async -> ReconcilerStateMachine.Action {
        guard let url = machine.clusterURL(of: id) else { return .none }
        let client = rayClient(url)
        do {
            recordReaction()
            let stopped = try await client.stop(id)
            rayAnswered()
            RayBridgeMetrics.stopped()
            logger.info("stop requested", metadata: ["submission": "\(id)", "wasRunning": "\(stopped)"])
            return machine.stopSent()
        } catch {
            logRayFailure("cannot stop the run", error, ["submission": "\(id)"])
            return failed(error)
        }
    }

    func rayAnswered() {
        health.ray(reachable: true)
        if rayFailures.cleared() { logger.info("Ray answers again") }
    }

    /// A failed call to Ray, retried with backoff: logged once per change of reason.
    func logRayFailure(_ what: String, _ error: RayClientError, _ metadata: Logger.Metadata = [:]) {
        guard rayFailures.changed("\(what): \(error)") else { return }
        logger.warning("\(what); retrying with backoff (logged again only when the reason changes)", metadata: metadata.merging(["error": "\(error)"]) { $1 })
    }

    func failed(_ error: RayClientError) -> ReconcilerStateMachine.Action {
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
    func recordReaction() {
        guard let seen = pendingReaction else { return }
        pendingReaction = nil
        RayBridgeMetrics.reaction(ContinuousClock.now - seen)
    }
}
