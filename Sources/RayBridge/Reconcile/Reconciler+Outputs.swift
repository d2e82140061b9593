import Foundation
import Logging
import RayBridgeClients
import RayBridgeCore

/// What every event leaves behind: the journal, the status directory, the log follower's orders,
/// and at the end a clean shutdown.
extension Reconciler {
    func publishAndFollow() async {
        await lifecycleNews()
        persistJournal()
        publish()
        await follow()
    }

    @discardableResult
    func persistJournal() -> Bool {
        let journal = machine.journal
        guard journal != savedJournal else { return true }
        do {
            try journalStore.save(journal)
            savedJournal = journal
            return true
        } catch {
            logger.error("cannot write the journal", metadata: ["path": "\(journalStore.path)", "error": "\(error)"])
            return false
        }
    }

    func publish() {
        var status = machine.status
        status.log = shipments[submissionId: status.submissionId]
        guard status != publishedStatus, statusRetry == nil else { return }
        do {
            try statusWriter.write(StatusFiles.render(status, updatedAt: Date()))
            if status.jobStatus != publishedStatus?.jobStatus || status.submissionId != publishedStatus?.submissionId {
                RayBridgeMetrics.jobStatus(status.jobStatus)
                logger.info("status", metadata: ["jobStatus": "\(status.jobStatus.rawValue)", "submission": "\(status.submissionId)"])
            }
            publishedStatus = status
            if statusFailures > 0 { logger.info("the status directory is written again", metadata: ["failures": "\(statusFailures)"]) }
            statusFailures = 0
        } catch {
            statusFailures += 1
            if statusFailures == 1 {
                logger.error("cannot write the status directory; retrying with backoff", metadata: ["error": "\(error)"])
            }
            // The latest status is written as soon as the directory takes it, not at the next event.
            let (delay, events) = (Backoff.standard.delay(afterFailures: statusFailures), events)
            statusRetry = Task {
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled else { return }
                events?.yield(.publishRetry)
            }
        }
    }

    /// Tells the follower what the machine wants followed, when that changed.
    func follow() async {
        let plan = machine.logFollow
        guard plan != followed, let following else { return }
        followed = plan
        let request = plan.map { plan in
            FollowRequest(
                submissionId: plan.submissionId, rayURL: plan.rayURL,
                // The token file is read only for the releases where it changes the source.
                source: DriverLogSource.of(plan.rayVersion, tokenAuth: configuration.rayCredentials.token() != nil),
                sink: plan.ship.map(LogSinkKind.s3) ?? .discard)
        }
        await following.ensure(request)
    }

    /// SIGTERM, the end of the snapshots, or `--exit-on-completion`: the loop is over.
    func shutDown(exiting: Bool) async {
        cancelTimer()
        statusRetry?.cancel()
        statusRetry = nil
        call?.cancel()
        events?.finish()
        if !exiting, configuration.stopOnExit, machine.currentRunMayBeLive, let (run, _) = machine.currentRun,
            let url = machine.clusterURL(of: run.submissionId)
        {
            logger.info("--stop-on-exit: stopping the run", metadata: ["submission": "\(run.submissionId)"])
            await Self.stopBeforeExit(run.submissionId, client: calls.client(url), logger: logger)
        }
        // Uploads stop where they are; their state is on disk for the next start.
        await following?.shutdown()
        persistJournal()
        publish()
    }

    /// The shutdown has cancelled this task, and a cancelled task's requests fail at once: the
    /// stop runs in a task of its own, bounded so that it fits the graceful shutdown period.
    private static func stopBeforeExit(_ submissionId: String, client: RayClient, logger: Logger) async {
        let outcome = await Task { () -> String? in
            await withTaskGroup(of: String?.self) { group in
                group.addTask {
                    do {
                        _ = try await client.stop(submissionId)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(3))
                    return "no answer from Ray within 3 s"
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }.value
        if let outcome {
            logger.error("cannot stop the run; it goes on without us", metadata: ["submission": "\(submissionId)", "error": "\(outcome)"])
        } else {
            logger.info("stop requested", metadata: ["submission": "\(submissionId)"])
        }
    }
}
