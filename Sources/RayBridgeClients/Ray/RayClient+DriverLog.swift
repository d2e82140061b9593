import AsyncHTTPClient
import Foundation
import NIOCore
import RayBridgeCore

extension RayClient {
    /// The driver log through the state API: `following` streams the whole file from byte 0, then
    /// whatever is appended, forever (it never closes by itself), Ray's agent looking at the file
    /// that often; nil reads the file as it is now, ending at its end (for a run that is over).
    ///
    /// `framing` is the cluster's (`RayVersion.logFraming`). The file's bytes come out exactly,
    /// except from a follow stream of a `.marked` release (Ray < 2.33), whose status bytes cannot be
    /// told apart from the log's: use that one only as a sign of activity.
    public func streamDriverLog(
        nodeId: String, submissionId: String, following: Duration? = nil, framing: RayLogFraming = .raw
    ) async throws(RayClientError) -> DriverLogBody {
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "node_id", value: nodeId),
            URLQueryItem(name: "filename", value: "job-driver-\(submissionId).log"),
            URLQueryItem(name: "lines", value: "-1"),
        ]
        let follow = following != nil
        if let following {
            components.queryItems?.append(URLQueryItem(name: "interval", value: "\(following.timeInterval)"))
            if framing == .markedOrText { components.queryItems?.append(URLQueryItem(name: "format", value: "text")) }
        }
        let request = try makeRequest(.GET, (follow ? "/api/v0/logs/stream?" : "/api/v0/logs/file?") + (components.percentEncodedQuery ?? ""))
        let response: HTTPClientResponse
        do {
            // No overall deadline: the stream lives as long as the run.
            response = try await http.execute(request, deadline: .distantFuture)
        } catch {
            throw transportError(error)
        }
        guard response.status == .ok else {
            let text = redacted((try? await response.body.collect(upTo: 64 << 10)).map { Data($0.readableBytesView) } ?? Data())
            switch response.status.code {
            case 401, 403: throw .unauthorized(status: Int(response.status.code), tokenSent: request.headers.contains(name: "Authorization"))
            case 404: throw .notFound(what: "driver log of \(submissionId)")
            default: throw .server(status: Int(response.status.code), body: text)
            }
        }
        let decoded = !follow && framing != .raw
        return DriverLogBody(body: response.body, decoder: decoded ? MarkedBlockDecoder() : nil)
    }

    /// The whole driver log through the job API (`GET /api/jobs/{id}/logs`), for clusters whose
    /// state API cannot serve it (Ray 2.52 with token auth). It comes as one JSON text, so it is
    /// held in memory whole, once per read.
    public func driverLogFromJobAPI(submissionId: String) async throws(RayClientError) -> DriverLogBody {
        DriverLogBody(whole: ByteBuffer(string: try await logs(submissionId)))
    }
}
