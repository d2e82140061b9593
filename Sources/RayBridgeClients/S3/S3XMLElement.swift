import Foundation
import RayBridgeCore

#if canImport(FoundationXML)
import FoundationXML
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
        text(name).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func bool(_ name: String) -> Bool {
        text(name)?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "true"
    }

    /// Returns nil when `data` is not well-formed XML.
    static func parse(_ data: Data) -> S3XMLElement? {
        let parser = XMLParser(data: data)
        let builder = S3XMLTreeBuilder()
        parser.delegate = builder
        guard parser.parse() else { return nil }
        return builder.root
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

/// Collects XMLParser's events into an `S3XMLElement` tree.
final class S3XMLTreeBuilder: NSObject, XMLParserDelegate {
    private(set) var root: S3XMLElement?
    private var stack: [S3XMLElement] = []

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
        qualifiedName: String?, attributes: [String: String] = [:]
    ) {
        let localName = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(S3XMLElement(name: localName, text: "", children: []))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if !stack.isEmpty { stack[stack.count - 1].text += string }
    }

    func parser(_ parser: XMLParser, foundCDATA CDATABlock: Data) {
        if !stack.isEmpty { stack[stack.count - 1].text += String(decoding: CDATABlock, as: UTF8.self) }
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
    ) {
        guard let element = stack.popLast() else { return }
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }
}
