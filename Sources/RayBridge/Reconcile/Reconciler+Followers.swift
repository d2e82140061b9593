import Foundation

/// What follows a run besides the poll: the log shipper and, without S3, the end watcher.
extension Reconciler {
    func logProgress(_ submissionId: String, _ shipment: StatusSnapshot.LogShipment) {
        shipments[submissionId] = shipment
        publish()
    }

    func noticed(_ details: RayJobDetails) async {
        let before = machine.status
        let action = machine.noticed(details)
        if action != .none || machine.status != before {
            logger.info("the log stream went quiet and Ray says the run is \(details.status.rawValue)", metadata: ["submission": "\(details.submissionId ?? "-")"])
            await drive(action)
        }
    }

    /// Without S3 nothing follows the log, and the end of a run would wait for the poll
    /// (`updateInterval`, 20 s by default): a watcher notices it within about a second.
    func ensureEndWatch() {
        var wanted: (String, JobSpec)?
        if let spec = machine.activeSpec, spec.s3 == nil, let (run, details) = machine.currentRun, run.submitted,
            !(details?.status.isTerminal ?? false)
        {
            wanted = (run.submissionId, spec)
        }
        guard endWatch?.submissionId != wanted?.0 else { return }
        endWatch?.task.cancel()
        endWatch = nil
        guard let (submissionId, spec) = wanted else { return }
        let watcher = RunEndWatcher(
            submissionId: submissionId, ray: rayClient(machine.clusterURL(of: submissionId) ?? spec.rayURL),
            logger: logger, onTerminal: { [weak self] details in await self?.noticed(details) })
        endWatch = (submissionId, Task { await watcher.run() })
    }

    /// Every submitted run gets its log shipped when S3 is configured.
    func ensureShipping() async {
        guard let shipping, let spec = machine.activeSpec, spec.s3 != nil, let (run, _) = machine.currentRun, run.submitted,
            let cluster = machine.cluster
        else { return }
        let source = DriverLogSource.of(cluster.version, tokenAuth: configuration.rayCredentials.token() != nil)
        await shipping.ensure(submissionId: run.submissionId, spec: spec, rayURL: machine.clusterURL(of: run.submissionId) ?? spec.rayURL, source: source)
    }
}
