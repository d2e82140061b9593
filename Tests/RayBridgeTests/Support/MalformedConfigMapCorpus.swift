@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// A seeded, generated set of ConfigMaps that are each wrong in exactly one key.
///
/// Every entry starts from a valid ConfigMap (with S3 on, so s3.endpoint is checked) and breaks
/// one key in one way: malformed JSON, a bad URL, bad bytes, or a size no shell can take.
struct MalformedConfigMapCorpus {
    struct Entry: CustomStringConvertible {
        var values: [String: String]
        var invalidBytes: [String: String] = [:]
        /// The key the problem must name.
        var key: String
        var label: String

        var description: String { "\(label) in \(key)" }
    }

    static let base = [
        "resourceURL": "http://127.0.0.1:8265", "jobdata.jobScript": "print(1)",
        "s3.endpoint": "127.0.0.1:9000", "s3upload.bucket": "logs", "s3.secure": "false",
    ]

    private var rng: SplitMix64

    init(seed: UInt64) {
        rng = SplitMix64(seed: seed)
    }

    /// `count` entries per family, each family covering all its cases before random repeats.
    mutating func generate(perFamily count: Int) -> [Entry] {
        var entries: [Entry] = []
        for i in 0..<count { entries.append(json(i)) }
        for i in 0..<count { entries.append(url(i)) }
        for i in 0..<count { entries.append(bytes(i)) }
        for i in 0..<(count / 4) { entries.append(size(i)) }
        return entries
    }

    private mutating func pick<T>(_ items: [T], _ i: Int) -> T {
        i < items.count ? items[i] : items[Int(rng.next() % UInt64(items.count))]
    }

    private mutating func word() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz_")
        return String((0..<(1 + Int(rng.next() % 8))).map { _ in letters[Int(rng.next() % UInt64(letters.count))] })
    }

    private func entry(_ key: String, _ value: String, _ label: String) -> Entry {
        var values = Self.base
        values[key] = value
        return Entry(values: values, key: key, label: label)
    }

    /// A broken JSON fragment in the place where each key expects a value.
    private mutating func json(_ i: Int) -> Entry {
        let key = pick([ConfigKey.jobParameters, ConfigKey.scriptMetadata, ConfigKey.jobProperties], i / 31 % 3)
        let n = key == ConfigKey.scriptMetadata ? word().uppercased() : word()
        let deep = String(repeating: "[", count: 65 + Int(rng.next() % 100))
        let fragments: [(String, String)] = [
            ("\"v\",", "trailing comma"), ("\"v\", \"\(n)\": \"w\"", "duplicate key"), ("NaN", "NaN"), ("Infinity", "Infinity"),
            ("-Infinity", "-Infinity"), ("0\(rng.next() % 9 + 1)", "leading zero"), ("-01", "negative leading zero"),
            ("1.", "bare decimal point"), (".5", "no integer part"), ("1e", "empty exponent"), ("+1", "plus sign"),
            ("0x1F", "hex number"), ("\"a\u{1}b\"", "raw control character"), ("\"a\nb\"", "raw newline"),
            ("\"a\tb\"", "raw tab"), (#""\ud800""#, "lone high surrogate"), (#""\udfff""#, "lone low surrogate"),
            (#""\ud800\u0041""#, "high surrogate then letter"), (#""\q""#, "invalid escape"), (#""\u12G4""#, "bad hex escape"),
            ("'v'", "single quotes"), ("\"v\" /* c */", "block comment"), ("\"v\" // c\n", "line comment"),
            ("True", "Python True"), ("None", "Python None"), ("undefined", "undefined"), ("\"v", "unterminated string"),
            (deep, "nesting over 64"), ("[1,]", "trailing comma in array"), ("[1 2]", "missing comma"), ("", "missing value"),
        ]
        let (fragment, label) = pick(fragments, i % fragments.count)
        let text: String
        switch key {
        case ConfigKey.jobParameters: text = "{\"\(n)\": \(fragment)}"
        case ConfigKey.scriptMetadata: text = "{\"env\": {\"\(n)\": \(fragment)}}"
        default: text = "{\"metadata\": {\"\(n)\": \(fragment)}}"
        }
        // Some breakage lives outside the object: garbage after it, or a comment before it.
        let wrapped = pick([text, text, text, text + " x", text + "}", "// c\n" + text, text + ",", "\u{FEFF}" + text], Int(rng.next() % 16))
        return entry(key, wrapped, "JSON \(label)")
    }

    private mutating func url(_ i: Int) -> Entry {
        let host = word()
        let high = 65_536 + Int(rng.next() % 1_000_000)
        // H is the host; every template keeps its fault inside the value, where no trimming removes it.
        let bad: [(String, String)] = [
            ("H:\(high)", "port over 65535"), ("H:0", "port 0"), ("H:-\(rng.next() % 100)", "negative port"), ("H:", "empty port"),
            ("H:80:90", "two ports"), ("H:8 0", "space in port"), ("H:８０", "full-width port"), ("H\u{0}:80", "NUL"),
            ("H\u{1B}[31m:80", "escape sequence"), ("x H:80", "space in host"), ("H..x:80", "empty label"), ("-H:80", "leading hyphen"),
            ("Hé:80", "non-ASCII host"), ("H%41:80", "percent in host"), ("H:80/%zz", "bad percent escape"),
            ("H:80/%00", "escaped NUL"), ("H:80/?q=1", "query"), ("H:80/#f", "fragment"), ("H\u{7F}:80", "DEL"),
            ("H\u{85}x:80", "C1 control"), ("H\u{200B}:80", "zero-width space"), ("H\u{2028}x:80", "line separator"),
        ]
        let literals: [(String, String)] = [
            ("http://", "no host"), ("http://:8265", "empty host"), ("http://999.1.1.1:80", "IPv4 over 255"),
            ("http://1.2.3:80", "three-part IPv4"), ("http://[::1:80", "unclosed IPv6"), ("http://[::g]:80", "bad IPv6"),
            ("http://[::1]x:80", "junk after IPv6"), ("http://u:p@\(host):80", "credentials"), ("ftp://\(host)", "ftp"),
            ("http:/\(host)", "one slash"), ("http://\(host):80\u{0}/", "NUL after port"),
        ]
        let key = i % 2 == 0 ? ConfigKey.resourceURL : ConfigKey.s3Endpoint
        let j = i / 2
        if j % 3 == 2 {
            let (value, label) = pick(literals, j / 3 % literals.count)
            return entry(key, value, "URL \(label)")
        }
        let (template, label) = pick(bad, j % bad.count)
        let scheme = key == ConfigKey.s3Endpoint && j % 2 == 1 ? "" : "http://"  // s3.endpoint also as host[:port]
        return entry(key, scheme + template.replacingOccurrences(of: "H", with: host), "URL \(label)")
    }

    private mutating func bytes(_ i: Int) -> Entry {
        let keys = [
            ConfigKey.resourceURL, ConfigKey.jobScript, ConfigKey.jobParameters, ConfigKey.scriptMetadata, ConfigKey.jobProperties,
            ConfigKey.s3Endpoint, ConfigKey.s3Bucket, ConfigKey.s3Secret, ConfigKey.s3Prefix, ConfigKey.resubmit, ConfigKey.kill,
            ConfigKey.updateInterval, ConfigKey.id, "colour",
        ]
        let key = pick(keys, i % keys.count)
        var e = entry(key, (Self.base[key] ?? "x") + "\u{FFFD}", "")
        switch i / keys.count % 3 {
        case 0:
            e.invalidBytes[key] = "is not valid UTF-8 (first bad byte 0xFF at byte offset \(rng.next() % 100)); values must be UTF-8 text"
            e.label = "invalid UTF-8"
        case 1:
            e.invalidBytes[key] = "contains a NUL byte at byte offset 3; values must be text without NUL"
            e.label = "NUL byte in the file"
        default:
            let text = Self.base[key] ?? "x"
            let cut = text.index(text.startIndex, offsetBy: Int(rng.next() % UInt64(text.count + 1)))
            e.values[key] = String(text[..<cut]) + "\u{0}" + String(text[cut...])
            e.label = "NUL character in the text"
        }
        return e
    }

    private mutating func size(_ i: Int) -> Entry {
        let n = word()
        if i % 2 == 0 {
            let value = String(repeating: "v", count: 131_072 + Int(rng.next() % 4096))
            return entry(ConfigKey.jobParameters, "{\"\(n)\": \"\(value)\"}", "one parameter over 128 KiB")
        }
        let count = 70 + Int(rng.next() % 60)
        let members = (0..<count).map { "\"\(n)\($0)\": \"\(String(repeating: "w", count: 2048))\"" }
        return entry(ConfigKey.jobParameters, "{" + members.joined(separator: ", ") + "}", "entrypoint over the limit")
    }
}
