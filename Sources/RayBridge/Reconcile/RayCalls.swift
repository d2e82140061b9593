import AsyncHTTPClient
import RayBridgeClients
import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// A call to Ray that the state machine asks for. The same value is the action, the machine's
/// in-flight marker, the subject of the log line and the key of the answer.
public enum RayRequest: Sendable, Equatable, CustomStringConvertible {
    /// `GET /api/version` of the cluster at this URL (once per connection, and again after Ray
    /// was unreachable).
    case readVersion(URL)
    /// `GET /api/jobs/`: the runs of this job name, when there is no journal.
    case listJobs(URL)
    case fetch(submissionId: String, on: URL)
    /// The journal names the run before this is sent: upload the package, then POST.
    case submit(RunRecord, JobSpec)
    case stop(submissionId: String, on: URL)
    /// `DELETE /api/jobs/{id}`: a finished run beyond `keepFinishedRuns`.
    case delete(submissionId: String, on: URL)

    /// The run it is about, if any.
    public var submissionId: String? {
        switch self {
        case .readVersion, .listJobs: nil
        case .fetch(let id, _), .stop(let id, _), .delete(let id, _): id
        case .submit(let run, _): run.submissionId
        }
    }

    public var description: String {
        switch self {
        case .readVersion(let url): "read Ray's version at \(RedactedURL.redact(url.absoluteString))"
        case .listJobs(let url): "list the jobs at \(RedactedURL.redact(url.absoluteString))"
        case .fetch(let id, _): "read the state of \(id)"
        case .submit(let run, _): "submit \(run.submissionId)"
        case .stop(let id, _): "stop \(id)"
        case .delete(let id, _): "delete the finished run \(id)"
        }
    }
}

/// What came of a `RayRequest`.
public enum RayReply: Sendable, Equatable {
    case version(RayVersion?)
    case jobs([RayJobDetails])
    case job(RayJobDetails)
    /// Ray accepted the POST at this time (no earlier than its `start_time`).
    case submitted(at: Date)
    case stopSent(wasRunning: Bool)
    case deleted
    case failed(RayClientError)
    /// The submission could not be put together; the POST was not sent.
    case notPrepared(SubmissionPreparationError)
}

/// A submission could not be put together (S3 script missing, bad parameters file...).
public struct SubmissionPreparationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    /// Worth trying again by itself (S3 unreachable), rather than waiting for an edit.
    public var retryable: Bool

    public init(message: String, retryable: Bool) {
        self.message = message
        self.retryable = retryable
    }

    public var description: String { message }
}

/// Performs the state machine's requests: the real cluster here, a fake one in the loop's tests.
public protocol RayCalling: Sendable {
    func perform(_ request: RayRequest) async -> RayReply
}

/// Test hook: `RAYBRIDGE_TEST_CRASH_AT=<point>` makes the process SIGKILL itself at that point, so
/// the integration tests can prove that a crash at the worst moment never submits a run twice.
/// Unset in production; a no-op then.
enum CrashPoint: String {
    /// The journal names the submission id; the POST has not been sent.
    case afterJournal = "after-journal"
    /// Ray accepted the POST; nothing after it was recorded.
    case afterSubmit = "after-submit"
    /// Ray accepted the POST of a retry (attempt 2 or later); nothing after it was recorded.
    case afterRetrySubmit = "after-retry-submit"

    static let configured = ProcessInfo.processInfo.environment["RAYBRIDGE_TEST_CRASH_AT"].flatMap(CrashPoint.init(rawValue:))

    static func reach(_ point: CrashPoint) {
        guard configured == point else { return }
        kill(getpid(), SIGKILL)
    }
}

/// The calls to Ray over HTTP. An actor for the package cache of submissions; the machine never
/// has two calls in flight, so nothing waits on it.
public actor RayCalls: RayCalling {
    let credentials: RayCredentials
    let s3Credentials: any S3CredentialProvider
    let http: HTTPClient
    let trust: TrustRoots
    let jobName: String
    var packagePins = PackagePins()
    var lastPackage: (script: String, files: [JobFile], package: WorkingDirPackage)?
    /// The last zip working directory checked and named: its next submission reads only its end.
    var lastZip: S3ZipWorkingDir?

    public init(jobName: String, credentials: RayCredentials, s3Credentials: any S3CredentialProvider, http: HTTPClient, trust: TrustRoots) {
        self.jobName = jobName
        self.credentials = credentials
        self.s3Credentials = s3Credentials
        self.http = http
        self.trust = trust
    }

    nonisolated func client(_ url: URL) -> RayClient {
        RayClient(baseURL: url, credentials: credentials, http: http, trust: trust)
    }

    public func perform(_ request: RayRequest) async -> RayReply {
        do {
            switch request {
            case .readVersion(let url):
                return .version(try await client(url).version())
            case .listJobs(let url):
                return .jobs(try await client(url).jobs())
            case .fetch(let id, let url):
                return .job(try await client(url).job(id))
            case .stop(let id, let url):
                return .stopSent(wasRunning: try await client(url).stop(id))
            case .delete(let id, let url):
                try await client(url).delete(id)
                return .deleted
            case .submit(let run, let spec):
                return await submit(run, spec)
            }
        } catch {
            // Unreachable, or a run it no longer knows: the head may have restarted, and the
            // packages it held are gone with it; the next submission checks them again.
            var headMayHaveRestarted = error.meansUnreachable
            if case .fetch = request, case .notFound = error { headMayHaveRestarted = true }
            if headMayHaveRestarted, let url = request.url { packagePins.forget(on: url) }
            return .failed(error)
        }
    }

    /// The journal already names `run` (the loop wrote it before calling): after a crash from here
    /// on, the id is checked, never guessed again.
    private func submit(_ run: RunRecord, _ spec: JobSpec) async -> RayReply {
        CrashPoint.reach(.afterJournal)
        let client = client(spec.rayURL)
        let body: [String: JSONValue]
        do {
            let (workingDir, extras) = try await resolve(spec)
            // The package check (a round trip to Ray) is skipped when it was done moments ago.
            let checkedAt = ContinuousClock.now
            if let workingDir, !packagePins.isPinned(workingDir.name, on: spec.rayURL, at: checkedAt) {
                switch workingDir {
                case .built(let package): try await client.ensurePackage(package)
                case .s3Zip(let zip): try await zip.ensure(on: client, from: try s3Client(spec, for: ConfigKey.jobScript))
                }
                packagePins.record(workingDir.name, on: spec.rayURL, sentAt: checkedAt)
            }
            body = SubmitRequestBuilder.body(jobName: jobName, run: run, spec: spec, extras: extras, workingDir: workingDir?.uri)
        } catch let error as RayClientError {
            packagePins.forget(on: spec.rayURL)
            return .failed(error)
        } catch let error as SubmissionPreparationError {
            return .notPrepared(error)
        } catch let error as S3ZipError {
            // An unusable zip waits for an edit or a new upload (INVALID); S3 failing is retried.
            if case .unusable = error { lastZip = nil }
            return .notPrepared(.init(message: "\(ConfigKey.jobScript): \(error)", retryable: error.isRetryable))
        } catch {
            return .notPrepared(.init(message: "cannot prepare the submission: \(error)", retryable: false))
        }
        do {
            try await client.submit(body, submissionId: run.submissionId)
            // The submission time is when Ray has answered, so no earlier than its `start_time`:
            // `activeDeadlineSeconds` counts from here, and counted from the POST going out (0.4 s
            // before `start_time` here) Ray showed a 5 s deadline's run ending after 4.5 s.
            let acceptedAt = Date()
            CrashPoint.reach(.afterSubmit)
            if run.attemptNumber > 1 { CrashPoint.reach(.afterRetrySubmit) }
            return .submitted(at: acceptedAt)
        } catch {
            if case .duplicateSubmission = error {} else { packagePins.forget(on: spec.rayURL) }
            return .failed(error)
        }
    }

    /// The zip of `script` and `files`, built once for the same content.
    private func workingDirPackage(_ script: String, _ files: [JobFile]) throws -> WorkingDirPackage {
        if let (text, sameFiles, package) = lastPackage, text == script, sameFiles == files { return package }
        do {
            let package = try WorkingDirPackage(script: script, files: files)
            lastPackage = (script, files, package)
            return package
        } catch {
            throw SubmissionPreparationError(message: "\(ConfigKey.jobScript): \(error)", retryable: false)
        }
    }

    /// The working directory (nil for a cluster path) and the parsed extras, fetching from S3 as asked.
    private func resolve(_ spec: JobSpec) async throws -> (WorkingDir?, ScriptExtras) {
        let script: WorkingDir?
        switch spec.script {
        case .inline(let text): script = .built(try workingDirPackage(text, spec.files))
        case .cluster: script = nil
        case .s3(let ref): script = .built(try workingDirPackage(try await fetch(ref, for: ConfigKey.jobScript, spec), spec.files))
        case .s3Zip(let ref):
            let zip = try await S3ZipWorkingDir.prepare(ref, s3: try s3Client(spec, for: ConfigKey.jobScript), known: lastZip)
            lastZip = zip
            script = .s3Zip(zip)
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

    private func s3Client(_ spec: JobSpec, for key: String) throws(SubmissionPreparationError) -> S3Client {
        guard let s3 = spec.s3 else {
            throw SubmissionPreparationError(message: "\(key): s3.endpoint is not set, so nothing can be fetched from S3", retryable: false)
        }
        return S3Client(settings: s3, credentials: s3Credentials, http: http, trust: trust)
    }

    private func fetch(_ ref: S3ObjectRef, for key: String, _ spec: JobSpec) async throws -> String {
        let client = try s3Client(spec, for: key)
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

/// What Ray's `working_dir` is made of.
enum WorkingDir {
    /// Built here: the script and the `jobdata.file.*` files.
    case built(WorkingDirPackage)
    /// A zip in S3, copied as it is.
    case s3Zip(S3ZipWorkingDir)

    var name: String {
        switch self {
        case .built(let package): package.name
        case .s3Zip(let zip): zip.name
        }
    }

    var uri: String { "gcs://\(name)" }
}

extension RayRequest {
    /// The cluster it goes to.
    var url: URL? {
        switch self {
        case .readVersion(let url), .listJobs(let url), .fetch(_, let url), .stop(_, let url), .delete(_, let url): url
        case .submit(_, let spec): spec.rayURL
        }
    }
}
