import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore

/// One random request, as handed to botocore: headers as `[name, value]` pairs so duplicates survive.
struct SigV4OracleCase: Codable {
    var method: String
    var url: String
    var headers: [[String]]
    /// nil signs with UNSIGNED-PAYLOAD.
    var bodyBase64: String?
    var accessKeyId: String
    var secretAccessKey: String
    var sessionToken: String?
    var region: String
    var epochSeconds: Int

    static func random(using rng: inout SplitMix64) -> SigV4OracleCase {
        func string(_ alphabet: String, _ lengths: ClosedRange<Int>) -> String {
            let characters = Array(alphabet)
            return String((0..<Int.random(in: lengths, using: &rng)).map { _ in characters.randomElement(using: &rng)! })
        }
        func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
        let alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        let base64 = alnum + "+/="

        var key = string(alnum + "-._~/", 1...40)
        if chance(30) {
            key += ["a b", " lead", "trail ", "é", "日本語", "😀", "ß/ü", "tab\tx", "x  y"].randomElement(using: &rng)!
        }
        if chance(20) {
            key += ["$", "&", "+", ",", ":", ";", "=", "?", "@", "#", "%", "[x]", "!", "*", "'", "(1)", "^"]
                .randomElement(using: &rng)!
        }
        if chance(10) {
            key = ["a//b", "./x", "../y", "x/./y", "dir/", "/lead", "x/../z"].randomElement(using: &rng)! + key
        }

        let scheme = chance(50) ? "https" : "http"
        let host = [
            "s3.amazonaws.com", "s3.eu-west-1.amazonaws.com", "127.0.0.1", "localhost",
            "minio.storage.svc.cluster.local", "S3.Example.COM", "[::1]",
        ].randomElement(using: &rng)!
        let port = [nil, scheme == "http" ? 80 : 443, 9000, 4566, 8443, scheme == "http" ? 443 : 80]
            .randomElement(using: &rng)!
        let portPart = port.map { ":\($0)" } ?? ""
        let bucket = "ray-" + string("abcdefghijklmnopqrstuvwxyz0123456789-", 3...20) + "x"
        let objectPath = chance(85) ? S3Path.encode(key: key) : ""
        let virtualHosted = !host.first!.isNumber && host != "[::1]" && host != "localhost" && chance(50)
        let url =
            virtualHosted
            ? "\(scheme)://\(bucket).\(host)\(portPart)/\(objectPath)"
            : "\(scheme)://\(host)\(portPart)/\(bucket)" + (objectPath.isEmpty ? "" : "/\(objectPath)")

        var query: [(String, String?)] = []
        let special = alnum + " /+=&?%#é日~-._*'"
        if chance(25) { query.append(("uploads", nil)) }
        if chance(30) { query.append(("partNumber", String(Int.random(in: 1...10_000, using: &rng)))) }
        if chance(40) { query.append(("uploadId", string(base64 + "-_.", 10...80))) }
        if chance(30) { query.append(("prefix", string(special, 0...20))) }
        if chance(10) { query.append(("prefix", string(special, 0...5))) }
        if chance(15) { query.append(("part-number-marker", String(Int.random(in: 0...9_999, using: &rng)))) }
        if chance(10) { query.append(("delimiter", "/")) }
        if chance(10) { query.append(("max-keys", String(Int.random(in: 1...1000, using: &rng)))) }
        if chance(10) { query.append(("key-marker", string(special, 0...12))) }
        if chance(5) { query.append(("tagging", chance(50) ? nil : "")) }
        query.shuffle(using: &rng)
        let queryString = query.map { name, value in
            S3Path.encode(component: name) + (value.map { "=" + S3Path.encode(component: $0) } ?? "")
        }.joined(separator: "&")

        func spaced(_ value: String) -> String {
            [value, "  \(value)  ", "\t\(value)", value.replacingOccurrences(of: "-", with: " \t  ")]
                .randomElement(using: &rng)!
        }
        var headers: [[String]] = []
        if chance(40) {
            headers.append([
                chance(50) ? "Content-Type" : "content-type",
                [
                    "application/octet-stream", "text/plain; charset=utf-8", "application/xml",
                    "application/x-ndjson",
                ].randomElement(using: &rng)!,
            ])
        }
        for _ in 0..<Int.random(in: 0...3, using: &rng) {
            let name =
                ["X-Amz-Meta-", "x-amz-meta-", "X-AMZ-META-"].randomElement(using: &rng)!
                + string("abcdefghij-", 1...8)
            headers.append([name, spaced(string(alnum + " -_.,;:'\"()/=", 0...30))])
            if chance(15) { headers.append([name.uppercased(), string(alnum, 1...6)]) }
        }
        let extras: [[String]] = [
            ["Content-MD5", string(base64, 24...24)], ["Range", "bytes=0-\(Int.random(in: 0...999, using: &rng))"],
            ["x-amz-storage-class", "STANDARD_IA"], ["X-Amz-Acl", "private"], ["Cache-Control", "no-cache,  no-store"],
            ["Content-Encoding", "gzip"], ["User-Agent", "raybridge/0.1"], ["Expect", "100-continue"],
            ["X-Amz-Date", "19990101T000000Z"], ["x-amz-content-sha256", "stale"], ["Authorization", "stale"],
            ["X-Amz-Security-Token", "stale-token"], ["Host", "override.example.com:1234"],
        ]
        for extra in extras where chance(8) {
            headers.append(extra)
        }

        var body: String?
        if chance(60) {
            let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            body = Data(bytes).base64EncodedString()
        }
        if body != nil, chance(20) { headers.append(["Content-Length", String(Data(base64Encoded: body!)!.count)]) }

        return SigV4OracleCase(
            method: ["GET", "PUT", "POST", "DELETE", "HEAD"].randomElement(using: &rng)!,
            url: url + (queryString.isEmpty ? "" : "?" + queryString),
            headers: headers,
            bodyBase64: body,
            accessKeyId: "AKIA" + string("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16...16),
            secretAccessKey: string(base64, 40...40),
            sessionToken: chance(30) ? string(base64, 100...400) : nil,
            region: ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "auto", "garage"]
                .randomElement(using: &rng)!,
            epochSeconds: Int.random(in: 946_684_800..<2_145_916_800, using: &rng))
    }
}
