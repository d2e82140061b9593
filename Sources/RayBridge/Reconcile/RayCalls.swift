import AsyncHTTPClient
import Foundation
import RayBridgeClients
import RayBridgeCore

/// The calls to Ray that the state machine asks for, each run off the loop and turned into the
/// `RayAnswer` that the loop hands back to the machine. An actor for the package cache of
/// submissions; the machine never has two calls in flight, so nothing waits on it.
actor RayCalls {
    let credentials: RayCredentials
    let s3Credentials: any S3CredentialProvider
    let http: HTTPClient
    let trust: TrustRoots
    let jobName: String
    var packagePins = PackagePins()
    var lastPackage: (script: String, package: WorkingDirPackage)?

    init(jobName: String, credentials: RayCredentials, s3Credentials: any S3CredentialProvider, http: HTTPClient, trust: TrustRoots) {
        self.jobName = jobName
        self.credentials = credentials
        self.s3Credentials = s3Credentials
        self.http = http
        self.trust = trust
    }

    nonisolated func client(_ url: URL) -> RayClient {
        RayClient(baseURL: url, credentials: credentials, http: http, trust: trust)
    }

    func readVersion(_ url: URL) async -> RayAnswer {
        do {
            return .version(try await client(url).version(), url: url)
        } catch {
            if error.meansUnreachable { packagePins.forget(on: url) }
            return .failed(error, call: .readVersion, submissionId: nil)
        }
    }

    func recover(_ url: URL) async -> RayAnswer {
        do {
            return .jobs(try await client(url).jobs())
        } catch {
            return .failed(error, call: .listJobs, submissionId: nil)
        }
    }

    func fetch(_ id: String, on url: URL) async -> RayAnswer {
        do {
            return .job(try await client(url).job(id))
        } catch {
            // Unreachable, or a run it no longer knows: the head may have restarted, and the
            // packages it held are gone with it; the next submission checks them again.
            if case .notFound = error { packagePins.forget(on: url) }
            if error.meansUnreachable { packagePins.forget(on: url) }
            return .failed(error, call: .fetchRun, submissionId: id)
        }
    }

    func stop(_ id: String, on url: URL) async -> RayAnswer {
        do {
            return .stopSent(submissionId: id, wasRunning: try await client(url).stop(id))
        } catch {
            return .failed(error, call: .stopRun, submissionId: id)
        }
    }
}
