import RayBridgeCore

/// Builds the body of `POST /api/jobs/` from a spec and its resolved extras.
public enum SubmitRequestBuilder {
    /// - Parameters:
    ///   - workingDir: the URI of the working_dir package (`gcs://_ray_pkg_<hash>.zip`); nil for
    ///     `scriptLocation: cluster`.
    public static func body(
        jobName: String, run: RunRecord, spec: JobSpec, extras: ScriptExtras, workingDir: String?
    ) -> [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        for (key, value) in spec.jobProperties where key != "runtime_env" && key != "metadata" {
            body[key] = value
        }

        var runtimeEnv: [String: JSONValue] = [:]
        if case .object(let given) = spec.jobProperties["runtime_env"] { runtimeEnv = given }
        if let workingDir { runtimeEnv["working_dir"] = .string(workingDir) }
        if !extras.pip.isEmpty {
            var pip: [JSONValue] = []
            if case .array(let given) = runtimeEnv["pip"] { pip = given }
            runtimeEnv["pip"] = .array(pip + extras.pip.map(JSONValue.string))
        }
        if !extras.env.isEmpty {
            var vars: [String: JSONValue] = [:]
            if case .object(let given) = runtimeEnv["env_vars"] { vars = given }
            for (name, value) in extras.env { vars[name] = .string(value) }
            runtimeEnv["env_vars"] = .object(vars)
        }
        if !runtimeEnv.isEmpty { body["runtime_env"] = .object(runtimeEnv) }

        var metadata: [String: JSONValue] = [:]
        if case .object(let given) = spec.jobProperties["metadata"] { metadata = given }
        metadata["raybridge.job"] = .string(jobName)
        if let revision = run.revision { metadata["raybridge.revision"] = .string(revision.hex) }
        if let sequence = run.sequence { metadata["raybridge.sequence"] = .string(String(sequence)) }
        // Recovery without a journal counts the attempts of a revision by this.
        if run.revision != nil { metadata["raybridge.attempt"] = .string(String(run.attemptNumber)) }
        body["metadata"] = .object(metadata)

        let script: String
        switch spec.script {
        case .cluster(let path): script = path
        case .inline, .s3, .s3Zip: script = WorkingDirPackage.scriptName
        }
        body["entrypoint"] = .string(Entrypoint.build(script: script, s3: spec.s3, parameters: extras.parameters))
        body["submission_id"] = .string(run.submissionId)
        return body
    }
}
