/// Reads the few small XML documents S3 and STS answer with into an `S3XMLElement` tree.
///
/// Written by hand because the XML parsers at hand (Foundation's `XMLParser`, and XMLCoder and
/// SWXMLHash built on it) bring libxml2 and a second ICU (36 MB of a 233 MiB image) for five
/// documents of a dozen elements. It is a strict reader of XML 1.0's well-formedness rules for what
/// these documents use (prolog, elements, attributes, the five predefined entities, character
/// references, CDATA, comments, processing instructions), and it refuses anything else (`nil`): an entity it does not know, mismatched tags, text after the root,
/// bytes that are not UTF-8. Attributes are checked and dropped: S3's readers look at element names
/// and text only. `S3XMLReaderTests` compares it with libxml2 through `XMLParser` and with expat.
struct S3XMLReader {
    /// libxml2's default limit too; S3's documents nest 3 deep.
    static let maximumDepth = 256

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    static func parse(_ bytes: [UInt8]) -> S3XMLElement? {
        // Every later check works on bytes; this one makes each slice taken a valid String.
        guard String(validating: bytes, as: UTF8.self) != nil else { return nil }
        var reader = S3XMLReader(bytes)
        return reader.document()
    }

    // MARK: - Document

    private mutating func document() -> S3XMLElement? {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        if starts(with: "<?xml"), index + 5 < bytes.count, Self.isSpace(bytes[index + 5]) {
            guard declaration() else { return nil }
        }
        guard miscellany(), index < bytes.count, bytes[index] == UInt8(ascii: "<") else { return nil }
        guard let root = element(), miscellany(), index == bytes.count else { return nil }
        return root
    }

    /// Comments, processing instructions and white space around the root. A DOCTYPE is refused:
    /// S3 sends none, and its internal subset could declare entities.
    private mutating func miscellany() -> Bool {
        while index < bytes.count {
            if Self.isSpace(bytes[index]) {
                index += 1
            } else if starts(with: "<!--") {
                guard comment() else { return false }
            } else if starts(with: "<?") {
                guard processingInstruction() else { return false }
            } else {
                break
            }
        }
        return true
    }

    private mutating func comment() -> Bool {
        index += 4
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "-"), bytes[index + 1] == UInt8(ascii: "-") {
                // "--" may only close a comment.
                guard index + 2 < bytes.count, bytes[index + 2] == UInt8(ascii: ">") else { return false }
                index += 3
                return true
            }
            guard Self.isCharacter(at: index, in: bytes) else { return false }
            index += 1
        }
        return false
    }

    /// `<?xml version="1.x" encoding="UTF-8" standalone="yes"?>`, the last two optional. Another
    /// encoding is refused: the bytes are read as UTF-8.
    private mutating func declaration() -> Bool {
        index += 5
        var seen: [String] = []
        while true {
            let spaced = skipSpace()
            if consume("?>") { return seen.first == "version" }
            guard spaced, let name = name().map({ String(decoding: $0, as: UTF8.self) }) else { return false }
            skipSpace()
            guard consume("=") else { return false }
            skipSpace()
            guard index < bytes.count else { return false }
            let quote = bytes[index]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'"),
                let end = bytes[(index + 1)...].firstIndex(of: quote)
            else { return false }
            let value = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
            index = end + 1
            // VersionNum as XML 1.0 (2nd edition) wrote it; expat checks no more.
            let valid =
                switch name {
                case "version":
                    seen.isEmpty && !value.isEmpty && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.:-".contains($0)) }
                case "encoding": seen == ["version"] && value.lowercased() == "utf-8"
                case "standalone": !seen.contains("standalone") && seen.first == "version" && (value == "yes" || value == "no")
                default: false
                }
            guard valid else { return false }
            seen.append(name)
        }
    }

    /// The target `xml` is reserved (the declaration is read by `declaration`, at the start only).
    private mutating func processingInstruction() -> Bool {
        index += 2
        guard let target = name(), String(decoding: target, as: UTF8.self).lowercased() != "xml" else { return false }
        if consume("?>") { return true }
        guard skipSpace() else { return false }
        while index + 1 < bytes.count {
            if bytes[index] == UInt8(ascii: "?"), bytes[index + 1] == UInt8(ascii: ">") {
                index += 2
                return true
            }
            guard Self.isCharacter(at: index, in: bytes) else { return false }
            index += 1
        }
        return false
    }

    // MARK: - Elements

    /// The element at `index` (its `<`), with everything inside it. Open elements are kept on a
    /// stack rather than by recursion, so a hostile body cannot exhaust the thread's stack.
    private mutating func element() -> S3XMLElement? {
        var open: [(qualifiedName: ArraySlice<UInt8>, element: S3XMLElement)] = []
        guard let first = startTag() else { return nil }
        if first.isEmpty { return first.element }
        open.append((first.qualifiedName, first.element))
        while index < bytes.count {
            if bytes[index] != UInt8(ascii: "<") {
                guard let text = characterData() else { return nil }
                open[open.count - 1].element.text += text
            } else if starts(with: "</") {
                index += 2
                guard let name = name(), name == open[open.count - 1].qualifiedName else { return nil }
                skipSpace()
                guard consume(">") else { return nil }
                let closed = open.removeLast().element
                if open.isEmpty { return closed }
                open[open.count - 1].element.children.append(closed)
            } else if starts(with: "<!--") {
                guard comment() else { return nil }
            } else if starts(with: "<![CDATA[") {
                guard let text = cdata() else { return nil }
                open[open.count - 1].element.text += text
            } else if starts(with: "<?") {
                guard processingInstruction() else { return nil }
            } else {
                guard open.count < Self.maximumDepth, let child = startTag() else { return nil }
                if child.isEmpty {
                    open[open.count - 1].element.children.append(child.element)
                } else {
                    open.append((child.qualifiedName, child.element))
                }
            }
        }
        return nil
    }

    /// `<name attribute="value" ...>` or `<name ... />`.
    private mutating func startTag() -> (qualifiedName: ArraySlice<UInt8>, element: S3XMLElement, isEmpty: Bool)? {
        index += 1
        guard let qualifiedName = name() else { return nil }
        var attributeNames: [ArraySlice<UInt8>] = []
        while true {
            let spaced = skipSpace()
            if consume("/") {
                guard consume(">") else { return nil }
                return (qualifiedName, Self.element(named: qualifiedName), true)
            }
            if consume(">") { return (qualifiedName, Self.element(named: qualifiedName), false) }
            guard spaced, let attribute = name(), !attributeNames.contains(attribute) else { return nil }
            attributeNames.append(attribute)
            skipSpace()
            guard consume("=") else { return nil }
            skipSpace()
            guard attributeValue() else { return nil }
        }
    }

    /// Names drop their namespace prefix: S3 readers look children up by local name.
    private static func element(named qualifiedName: ArraySlice<UInt8>) -> S3XMLElement {
        let local = qualifiedName.lastIndex(of: UInt8(ascii: ":")).map { qualifiedName[($0 + 1)...] } ?? qualifiedName
        return S3XMLElement(name: String(decoding: local, as: UTF8.self), text: "", children: [])
    }

    private mutating func attributeValue() -> Bool {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else { return false }
        let quote = bytes[index]
        index += 1
        while index < bytes.count {
            switch bytes[index] {
            case quote:
                index += 1
                return true
            case UInt8(ascii: "<"):
                return false
            case UInt8(ascii: "&"):
                guard reference() != nil else { return false }
            default:
                guard Self.isCharacter(at: index, in: bytes) else { return false }
                index += 1
            }
        }
        return false
    }

    // MARK: - Text

    /// Text up to the next `<`, references replaced, line ends made `\n` as XML 1.0 §2.11 says.
    private mutating func characterData() -> String? {
        var text: [UInt8] = []
        while index < bytes.count, bytes[index] != UInt8(ascii: "<") {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "&"):
                guard let scalar = reference() else { return nil }
                text.append(contentsOf: String(scalar).utf8)
            case UInt8(ascii: "\r"):
                text.append(UInt8(ascii: "\n"))
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "\n") { index += 1 }
            case UInt8(ascii: "]"):
                // "]]>" may only end a CDATA section.
                if starts(with: "]]>") { return nil }
                text.append(byte)
                index += 1
            default:
                guard Self.isCharacter(at: index, in: bytes) else { return nil }
                text.append(byte)
                index += 1
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    private mutating func cdata() -> String? {
        index += 9
        var text: [UInt8] = []
        while index < bytes.count {
            if starts(with: "]]>") {
                index += 3
                return String(decoding: text, as: UTF8.self)
            }
            if bytes[index] == UInt8(ascii: "\r") {
                text.append(UInt8(ascii: "\n"))
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "\n") { index += 1 }
                continue
            }
            guard Self.isCharacter(at: index, in: bytes) else { return nil }
            text.append(bytes[index])
            index += 1
        }
        return nil
    }

    /// `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#NN;` `&#xHH;`, starting at the `&`.
    private mutating func reference() -> Unicode.Scalar? {
        index += 1
        guard let semicolon = bytes[index...].firstIndex(of: UInt8(ascii: ";")), semicolon - index <= 10 else { return nil }
        let body = bytes[index..<semicolon]
        index = semicolon + 1
        switch String(decoding: body, as: UTF8.self) {
        case "lt": return "<"
        case "gt": return ">"
        case "amp": return "&"
        case "quot": return "\""
        case "apos": return "'"
        case let numeric where numeric.hasPrefix("#x"):
            return Self.characterReference(numeric.dropFirst(2), radix: 16)
        case let numeric where numeric.hasPrefix("#"):
            return Self.characterReference(numeric.dropFirst(), radix: 10)
        default:
            return nil
        }
    }

    private static func characterReference(_ digits: Substring, radix: Int) -> Unicode.Scalar? {
        guard !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit && (radix == 16 || $0.isNumber) }),
            let value = UInt32(digits, radix: radix), let scalar = Unicode.Scalar(value), isCharacter(scalar)
        else { return nil }
        return scalar
    }

    // MARK: - Lexical pieces

    /// XML's Name, loosely: a letter, `_` or `:` (or any non-ASCII) first, then also digits, `-` and `.`.
    private mutating func name() -> ArraySlice<UInt8>? {
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            let isStart = byte >= 0x80 || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A)
            let isMore = (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            guard isStart || (isMore && index > start) else { break }
            index += 1
        }
        return index > start ? bytes[start..<index] : nil
    }

    @discardableResult
    private mutating func skipSpace() -> Bool {
        let start = index
        while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
        return index > start
    }

    private func starts(with literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { bytes[index..<index + count].elementsEqual($0) }
    }

    private mutating func consume(_ literal: StaticString) -> Bool {
        guard starts(with: literal) else { return false }
        index += literal.utf8CodeUnitCount
        return true
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// XML 1.0's Char for the byte at `index`: no C0 controls but tab, LF and CR; no U+FFFE or
    /// U+FFFF (the input is valid UTF-8, so surrogates cannot occur).
    private static func isCharacter(at index: Int, in bytes: [UInt8]) -> Bool {
        let byte = bytes[index]
        if byte < 0x20 { return byte == 0x09 || byte == 0x0A || byte == 0x0D }
        if byte == 0xEF, index + 2 < bytes.count, bytes[index + 1] == 0xBF, bytes[index + 2] >= 0xBE { return false }
        return true
    }

    private static func isCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }
}
