import Foundation

/// Putting a submission together (script, extras, package) and sending it.
extension Reconciler {
    func submit(_ run: RunRecord, _ spec: JobSpec) async -> ReconcilerStateMachine.Action {
        let client = rayClient(spec.rayURL)
        let body: [String: JSONValue]
        do {
            let (script, extras) = try await resolve(spec)
            let package = try script.map { try workingDirPackage($0) }
            // The package check (a round trip to Ray) is skipped when it was done moments ago, and
            // otherwise runs while the journal is fsynced: both must be done before the POST,
            // neither needs the other.
            let checkedAt = ContinuousClock.now
            let unpinned = package.flatMap { packagePins.isPinned($0.name, on: spec.rayURL, at: checkedAt) ? nil : $0 }
            async let ensured: Void = { if let unpinned { try await client.ensurePackage(unpinned) } }()
            // The journal names the submission id before Ray hears of it: after a crash here the id
            // is checked, never guessed again.
            guard persistJournal() else {
                try? await ensured
                return machine.preparationFailed("cannot write the journal in \(configuration.statusDirectory); is the status directory writable?", retryable: true)
            }
            CrashPoint.reach(.afterJournal)
            try await ensured
            if let unpinned { packagePins.record(unpinned.name, on: spec.rayURL, sentAt: checkedAt) }
            body = SubmitRequestBuilder.body(jobName: configuration.jobName, run: run, spec: spec, extras: extras, package: package)
        } catch let error as RayClientError {
            logRayFailure("cannot upload the script package", error, ["submission": "\(run.submissionId)"])
            return failed(error)
        } catch let error as SubmissionPreparationError {
            if preparationFailures.changed(error.description) {
                logger.error("cannot prepare the submission", metadata: ["submission": "\(run.submissionId)", "error": "\(error)", "retrying": "\(error.retryable)"])
            }
            return machine.preparationFailed(error.description, retryable: error.retryable)
        } catch {
            return machine.preparationFailed("cannot prepare the submission: \(error)", retryable: false)
        }
        do {
            recordReaction()
            try await client.submit(body, submissionId: run.submissionId)
            CrashPoint.reach(.afterSubmit)
            rayAnswered()
            preparationFailures.cleared()
            RayBridgeMetrics.submitted()
            logger.info("submitted", metadata: ["submission": "\(run.submissionId)", "revision": "\(spec.revision.short)"])
            return machine.submitted(at: Date())
        } catch {
            if case .duplicateSubmission = error {
                logger.info("already submitted before a restart; attaching", metadata: ["submission": "\(run.submissionId)"])
            } else {
                logRayFailure("submission failed", error, ["submission": "\(run.submissionId)"])
                packagePins.forget(on: spec.rayURL)
            }
            return failed(error)
        }
    }

    /// The zip of `script`, built once per script text.
    func workingDirPackage(_ script: String) throws -> WorkingDirPackage {
        if let (text, package) = lastPackage, text == script { return package }
        let package = try WorkingDirPackage(script: script)
        lastPackage = (script, package)
        return package
    }

    /// The script text (nil for a cluster path) and the parsed extras, fetching from S3 as asked.
    func resolve(_ spec: JobSpec) async throws -> (String?, ScriptExtras) {
        func fetch(_ ref: S3ObjectRef, for key: String) async throws -> String {
            guard let s3 = spec.s3 else {
                throw SubmissionPreparationError(message: "\(key): s3.endpoint is not set, so \(ref) cannot be fetched", retryable: false)
            }
            let client = S3Client(settings: s3, credentials: configuration.s3Credentials, http: http, trust: trust)
            do {
                return String(decoding: try await client.getObject(bucket: ref.bucket, key: ref.key), as: UTF8.self)
            } catch {
                // A missing object or a refused key waits for an edit (or a fixed Secret: retried slowly);
                // an unreachable S3 is retried.
                let permanent = ["NoSuchKey", "NoSuchBucket"].contains(error.code ?? "")
                throw SubmissionPreparationError(message: "\(key): cannot fetch \(ref): \(error)", retryable: !permanent)
            }
        }
        let script: String?
        switch spec.script {
        case .inline(let text): script = text
        case .cluster: script = nil
        case .s3(let ref): script = try await fetch(ref, for: ConfigKey.jobScript)
        }
        switch spec.extras {
        case .inline(let extras):
            return (script, extras)
        case .s3(let metadataRef, let parametersRef):
            var metadata = "", parameters = ""
            if let metadataRef { metadata = try await fetch(metadataRef, for: ConfigKey.scriptMetadata) }
            if let parametersRef { parameters = try await fetch(parametersRef, for: ConfigKey.jobParameters) }
            let parsed = ScriptExtras.parse(
                metadata: metadata, metadataKey: "\(ConfigKey.scriptMetadata) (\(metadataRef?.description ?? "-"))",
                parameters: parameters, parametersKey: "\(ConfigKey.jobParameters) (\(parametersRef?.description ?? "-"))")
            guard parsed.problems.isEmpty else {
                throw SubmissionPreparationError(message: parsed.problems.summary, retryable: false)
            }
            let word = if case .cluster(let path) = spec.script { path } else { WorkingDirPackage.scriptName }
            if let problem = EntrypointLimit.problem(script: word, s3: spec.s3, parameters: parsed.extras.parameters) {
                throw SubmissionPreparationError(message: "\(ConfigKey.jobParameters) (\(parametersRef?.description ?? "-")): \(problem)", retryable: false)
            }
            return (script, parsed.extras)
        }
    }
}
