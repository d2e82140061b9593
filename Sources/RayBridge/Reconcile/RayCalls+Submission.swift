import Foundation
import RayBridgeClients
import RayBridgeCore

/// Putting a submission together (script, extras, package) and sending it.
extension RayCalls {
    /// The journal already names `run` (the loop wrote it before calling): after a crash from here
    /// on, the id is checked, never guessed again.
    func submit(_ run: RunRecord, _ spec: JobSpec, at date: @Sendable () -> Date) async -> RayAnswer {
        CrashPoint.reach(.afterJournal)
        let client = client(spec.rayURL)
        let body: [String: JSONValue]
        do {
            let (script, extras) = try await resolve(spec)
            let package = try script.map { try workingDirPackage($0) }
            // The package check (a round trip to Ray) is skipped when it was done moments ago.
            let checkedAt = ContinuousClock.now
            if let package, !packagePins.isPinned(package.name, on: spec.rayURL, at: checkedAt) {
                try await client.ensurePackage(package)
                packagePins.record(package.name, on: spec.rayURL, sentAt: checkedAt)
            }
            body = SubmitRequestBuilder.body(jobName: jobName, run: run, spec: spec, extras: extras, package: package)
        } catch let error as RayClientError {
            return .failed(error, call: .uploadPackage, submissionId: run.submissionId)
        } catch let error as SubmissionPreparationError {
            return .preparationFailed(error, submissionId: run.submissionId)
        } catch {
            return .preparationFailed(.init(message: "cannot prepare the submission: \(error)", retryable: false), submissionId: run.submissionId)
        }
        do {
            try await client.submit(body, submissionId: run.submissionId)
            // The submission time is when Ray has answered, so no earlier than its `start_time`:
            // `activeDeadlineSeconds` counts from here, and counted from the POST going out (0.4 s
            // before `start_time` here) Ray showed a 5 s deadline's run ending after 4.5 s.
            let acceptedAt = date()
            CrashPoint.reach(.afterSubmit)
            if run.attemptNumber > 1 { CrashPoint.reach(.afterRetrySubmit) }
            return .submitted(submissionId: run.submissionId, revision: spec.revision, at: acceptedAt)
        } catch {
            if case .duplicateSubmission = error {} else { packagePins.forget(on: spec.rayURL) }
            return .failed(error, call: .submit, submissionId: run.submissionId)
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
        let script: String?
        switch spec.script {
        case .inline(let text): script = text
        case .cluster: script = nil
        case .s3(let ref): script = try await fetch(ref, for: ConfigKey.jobScript, spec)
        }
        switch spec.extras {
        case .inline(let extras):
            return (script, extras)
        case .s3(let metadataRef, let parametersRef):
            var metadata = ""
            var parameters = ""
            if let metadataRef { metadata = try await fetch(metadataRef, for: ConfigKey.scriptMetadata, spec) }
            if let parametersRef { parameters = try await fetch(parametersRef, for: ConfigKey.jobParameters, spec) }
            let parsed = ScriptExtras.parse(
                metadata: metadata, metadataKey: "\(ConfigKey.scriptMetadata) (\(metadataRef?.description ?? "-"))",
                parameters: parameters, parametersKey: "\(ConfigKey.jobParameters) (\(parametersRef?.description ?? "-"))")
            guard parsed.problems.isEmpty else {
                throw SubmissionPreparationError(message: parsed.problems.summary, retryable: false)
            }
            let word = if case .cluster(let path) = spec.script { path } else { WorkingDirPackage.scriptName }
            if let problem = EntrypointLimit.problem(script: word, s3: spec.s3, parameters: parsed.extras.parameters) {
                throw SubmissionPreparationError(
                    message: "\(ConfigKey.jobParameters) (\(parametersRef?.description ?? "-")): \(problem)", retryable: false)
            }
            return (script, parsed.extras)
        }
    }

    private func fetch(_ ref: S3ObjectRef, for key: String, _ spec: JobSpec) async throws -> String {
        guard let s3 = spec.s3 else {
            throw SubmissionPreparationError(message: "\(key): s3.endpoint is not set, so \(ref) cannot be fetched", retryable: false)
        }
        let client = S3Client(settings: s3, credentials: s3Credentials, http: http, trust: trust)
        do {
            return String(decoding: try await client.getObject(bucket: ref.bucket, key: ref.key), as: UTF8.self)
        } catch {
            // A missing object or a refused key waits for an edit (or a fixed Secret: retried slowly);
            // an unreachable S3 is retried.
            let permanent = ["NoSuchKey", "NoSuchBucket"].contains(error.code ?? "")
            throw SubmissionPreparationError(message: "\(key): cannot fetch \(ref): \(error)", retryable: !permanent)
        }
    }
}
