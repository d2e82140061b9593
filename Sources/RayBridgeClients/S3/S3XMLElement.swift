import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An XML element reduced to what S3's responses need: local name, text and children.
///
/// Names drop any namespace prefix, and readers look children up by name only, so AWS's
/// `ListPartsResult` and moto's `ListPartsResponse` read the same.
struct S3XMLElement: Sendable, Equatable {
    var name: String
    /// The element's own character data, unmodified: S3 keys may begin or end with spaces.
    var text: String
    var children: [S3XMLElement]

    func child(_ name: String) -> S3XMLElement? {
        children.first { $0.name == name }
    }

    func children(_ name: String) -> [S3XMLElement] {
        children.filter { $0.name == name }
    }

    func text(_ name: String) -> String? {
        child(name)?.text
    }

    func int(_ name: String) -> Int? {
        text(name).flatMap { Int($0.trimmingWhitespace()) }
    }

    func bool(_ name: String) -> Bool {
        text(name)?.trimmingWhitespace().lowercased() == "true"
    }

    /// Returns nil when `data` is not well-formed XML.
    static func parse(_ data: Data) -> S3XMLElement? {
        S3XMLReader.parse(Array(data))
    }

    /// Parses the body of a successful response. S3 can answer HTTP 200 with an `<Error>` body
    /// (CompleteMultipartUpload fails that way after the status line is sent), so that is thrown as a
    /// service error rather than read as an empty result.
    static func parseResult(_ data: Data, of operation: String) throws(S3Error) -> S3XMLElement {
        guard let root = parse(data) else {
            throw .malformedResponse("\(operation) response is not well-formed XML")
        }
        if root.name == "Error" {
            throw .service(status: 200, response: S3ErrorResponse(root), bucket: nil, key: nil)
        }
        return root
    }
}
