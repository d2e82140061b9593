import Foundation
import RayBridgeTestKit
import Testing

@testable import RayBridgeClients

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The hand-written reader against libxml2 through Foundation's `XMLParser`, which the product used
/// before (the same tree for S3's documents), and against Python's expat (strict) on mutations.
@Suite struct S3XMLReaderTests {
    static let documents: [String] = [
        #"<?xml version="1.0" encoding="UTF-8"?>\#n<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\#n  <Bucket>b</Bucket>\#n  <Key>a/b c&amp;d.txt</Key>\#n  <UploadId>VXBsb2FkIElE</UploadId>\#n</InitiateMultipartUploadResult>"#,
        #"<?xml version="1.0" encoding="utf-8"?><ListPartsResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>ray-logs</Bucket><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><ETag>"4f08"</ETag><Size>5242880</Size></Part><Owner><DisplayName>webfile</DisplayName><ID>75aa</ID></Owner></ListPartsResponse>"#,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error>\r\n  <Code>InternalError</Code>\r\n  <Message>We encountered an internal error.\rPlease try again.</Message>\n</Error>\n",
        #"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA</AccessKeyId><SecretAccessKey>s+/=</SecretAccessKey><SessionToken>t&#43;&#x2F;</SessionToken><Expiration>2026-12-03T15:04:05Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>"#,
        #"<s3:ListPartsResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/"><s3:Part><s3:ETag>"e"</s3:ETag></s3:Part></s3:ListPartsResult>"#,
        "\u{FEFF}<!-- c --><?pi data?>\n<Error a='1' b=\"&lt;2&gt;\"><![CDATA[<raw> & ]] ]>]]> x<!-- in --> y<?p q?><Empty/><Empty /></Error><!-- after -->\n",
        "<Key>  spaces kept  </Key>",
        "<Key>&#233;t&#xE9; \u{1F600} &quot;&apos;</Key>",
        "<a><b>1</b>text<b>2</b> tail</a>",
        // Not well-formed:
        "", "   ", "<a>", "<a></b>", "<a><b></a></b>", "<a>&unknown;</a>", "<a>&amp</a>", "<a>&#0;</a>", "<a>&#xD800;</a>",
        "text<a/>", "<a b='1' b='2'/>", "<a b=1/>", "<a b='<'/>", "<a>]]></a>",
        "<a><!-- x -- y --></a>", "<a><![CDATA[x</a>", "<a>\u{1}</a>", "<?xml version='1.0'?><?xml version='1.0'?><a/>",
        "<a/><?xml version='1.0'?>", "<1a/>", "<a b='1'c='2'/>", "< a/>", "<a></a >",
        "<html><body>502 Bad Gateway</body></html>",
    ]

    @Test(arguments: documents) func sameAsLibxml2(_ document: String) {
        let bytes = Array(document.utf8)
        #expect(S3XMLReader.parse(bytes) == LibXML2Tree.parse(Data(bytes)))
    }

    /// Bytes changed at random in the documents above (the same ones each run), read by the reader
    /// and by Python's expat, a strict XML 1.0 parser (XMLParser reads on after errors, libxml2's
    /// recovery): the same tree, or both refuse.
    @Test func mutatedDocumentsReadAsExpatReads() async throws {
        var random = SplitMix64(seed: 22)
        let alphabet = Array("<>/&;#x!?-[]\"'= :aZ09\r\n\t".utf8)
        var mutants: [[UInt8]] = []
        for _ in 0..<3000 {
            var bytes = Array(Self.documents[Int(random.next() % UInt64(9))].utf8)
            for _ in 0...(random.next() % 3) where !bytes.isEmpty {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                default: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                }
            }
            mutants.append(bytes)
        }
        let expat = try await Self.expat(mutants)
        var disagreements: [String] = []
        var accepted = 0
        for (bytes, expected) in zip(mutants, expat) {
            let ours = S3XMLReader.parse(bytes)
            if ours != nil { accepted += 1 }
            // Python's expat reads any encoding Python has a codec for (`UTF8`, `latin-1`); the
            // reader, UTF-8 only.
            let text = String(decoding: bytes, as: UTF8.self)
            if ours == nil, expected != nil, let declared = text.firstMatch(of: #/encoding=["']([^"']*)["']/#)?.1,
                declared.lowercased() != "utf-8"
            {
                continue
            }
            if ours != expected { disagreements.append(String(decoding: bytes, as: UTF8.self)) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements, first: \(disagreements.prefix(5))")
        // Mutations that break the document and ones that do not are both there.
        #expect(accepted > 300 && accepted < 2700, "\(accepted) of 3000 read")
    }

    /// Python's expat on each document: the tree as S3XMLElement reads it (local names, each element's
    /// own text), or nil where expat finds it not well-formed.
    static func expat(_ documents: [[UInt8]]) async throws -> [S3XMLElement?] {
        let script = """
            import json, sys
            import xml.parsers.expat as expat
            def tree(data):
                stack, root = [], []
                p = expat.ParserCreate()
                def start(name, attrs):
                    stack.append({"name": name.split(":")[-1], "text": "", "children": []})
                def end(name):
                    e = stack.pop()
                    (stack[-1]["children"] if stack else root).append(e)
                def chars(text):
                    if stack: stack[-1]["text"] += text
                p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, chars
                try:
                    p.Parse(data, True)
                except (expat.ExpatError, LookupError):  # LookupError: an encoding it does not know
                    return None
                return root[0] if root else None
            docs = json.load(sys.stdin)
            print(json.dumps([tree(bytes(d)) for d in docs]))
            """
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("raybridge-xml-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: input) }
        try JSONEncoder().encode(documents).write(to: URL(fileURLWithPath: input))
        let output = try await ChildProcess.run(["sh", "-c", "python3 -c \"$0\" < \"$1\"", script, input], standardErrorToo: false)
        #expect(output.status == 0)
        return try JSONDecoder().decode([ExpatElement?].self, from: output.output).map { $0.map(\.element) }
    }

    private struct ExpatElement: Decodable {
        var name: String
        var text: String
        var children: [ExpatElement]
        var element: S3XMLElement { S3XMLElement(name: name, text: text, children: children.map(\.element)) }
    }

    /// What XMLParser read (leniently, or with a DOCTYPE, whose internal subset could declare
    /// entities) and the reader refuses on purpose, and what crashed XMLParser.
    @Test func whereTheReaderDiffersFromXMLParser() {
        for refused in [
            "<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>", "<!DOCTYPE Error SYSTEM 'e.dtd'><Error/>", "<a>x</a><b/>", "<a>x</a>trailing",
            "<a></ a>",
        ] {
            #expect(S3XMLReader.parse(Array(refused.utf8)) == nil, "\(refused)")
        }
        #expect(S3XMLReader.parse([0x3C, 0x61, 0x3E, 0xFF, 0x3C, 0x2F, 0x61, 0x3E]) == nil)
        #expect(S3XMLReader.parse(Array("<a>x<?p?>y</a>".utf8)) == S3XMLElement(name: "a", text: "xy", children: []))
    }

    @Test func depthIsBounded() {
        let deep = String(repeating: "<a>", count: S3XMLReader.maximumDepth + 1) + String(repeating: "</a>", count: S3XMLReader.maximumDepth + 1)
        #expect(S3XMLReader.parse(Array(deep.utf8)) == nil)
        let allowed = String(repeating: "<a>", count: S3XMLReader.maximumDepth) + String(repeating: "</a>", count: S3XMLReader.maximumDepth)
        #expect(S3XMLReader.parse(Array(allowed.utf8)) != nil)
    }
}

/// The tree the product built from `XMLParser`'s events before it had its own reader.
private final class LibXML2Tree: NSObject, XMLParserDelegate {
    private var root: S3XMLElement?
    private var stack: [S3XMLElement] = []

    static func parse(_ data: Data) -> S3XMLElement? {
        let parser = XMLParser(data: data)
        let builder = LibXML2Tree()
        parser.delegate = builder
        guard parser.parse() else { return nil }
        return builder.root
    }

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

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = stack.popLast() else { return }
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }
}
