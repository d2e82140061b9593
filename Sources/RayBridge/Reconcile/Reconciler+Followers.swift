import Foundation

/// What follows a run besides the poll: the log follower, which ships the log to S3 or, without
/// S3, discards it and only notices the end of the run.
extension Reconciler {
    func followed(_ event: FollowEvent) async {
        switch event {
        case .progress(let submissionId, let shipment):
            logProgress(submissionId, shipment)
        case .runEnded(let details):
            await noticed(details)
        case .done:
            break
        }
    }

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

    /// With S3 every submitted run gets its log shipped; without, the current run's end is noticed
    /// within about a second instead of at the poll (`updateInterval`, 20 s by default).
    func ensureFollowing() async {
        guard let shipping else { return }
        await shipping.ensure(followRequest())
    }

    func followRequest() -> FollowRequest? {
        guard let spec = machine.activeSpec, let (run, details) = machine.currentRun, run.submitted else { return nil }
        let url = machine.clusterURL(of: run.submissionId) ?? spec.rayURL
        if let s3 = spec.s3 {
            guard let cluster = machine.cluster else { return nil }
            let source = DriverLogSource.of(cluster.version, tokenAuth: configuration.rayCredentials.token() != nil)
            return FollowRequest(submissionId: run.submissionId, rayURL: url, source: source, sink: .s3(s3))
        }
        guard !(details?.status.isTerminal ?? false) else { return nil }
        let source = DriverLogSource.of(machine.cluster?.version, tokenAuth: configuration.rayCredentials.token() != nil)
        return FollowRequest(submissionId: run.submissionId, rayURL: url, source: source, sink: .discard)
    }
}
