import RayBridgeCore

extension JobSpec {
    /// What this spec asks for that a cluster running `version` does not have, each naming the key
    /// to edit. Such a spec is treated as invalid: nothing is sent, a running job is left alone.
    /// An unknown version is taken for the newest (the answer of `/api/version` lacked it).
    public func unsupported(by version: RayVersion?) -> [ConfigProblem] {
        guard let version else { return [] }
        return RayVersion.submitFieldsSince.compactMap { field, since in
            guard jobProperties[field] != nil, version < since else { return nil }
            return ConfigProblem(
                key: ConfigKey.jobProperties,
                "\(field) needs Ray \(since) or later, but the cluster at \(rayURL.absoluteString) runs Ray \(version); remove it or upgrade the cluster"
            )
        }
    }
}
