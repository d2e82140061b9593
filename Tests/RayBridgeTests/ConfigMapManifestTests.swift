import Testing

@testable import RayBridgeCore

/// `raybridge validate FILE.yaml`'s reader of ConfigMap manifests (libyaml's events).
@Suite struct ConfigMapManifestTests {
    func data(_ yaml: String) throws -> [String: String] { try ConfigMapManifest.data(fromYAML: yaml) }

    @Test func everyScalarStyleGivesItsText() throws {
        let yaml = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: demo, labels: {a: "1"}}
            data:
              plain: http://127.0.0.1:8265
              number: 20
              single: 'it''s'
              double: "tab\\there \\u00e9 \\0"
              literal: |
                import ray
                print("hi")
              folded: >-
                one
                two
              keep: |+
                x

              empty: ""
              nothing:
              tilde: ~
              word: null
              quotedNull: "null"
              tagged: !!str 5
            """
        #expect(
            try data(yaml) == [
                "plain": "http://127.0.0.1:8265", "number": "20", "single": "it's", "double": "tab\there \u{E9} \0",
                "literal": "import ray\nprint(\"hi\")\n", "folded": "one two", "keep": "x\n\n", "empty": "", "nothing": "",
                "tilde": "", "word": "", "quotedNull": "null", "tagged": "5",
            ])
    }

    @Test func anchorsAliasesAndMergeKeys() throws {
        let yaml = """
            base: &base {resourceURL: "http://a:1", kill: "false"}
            kind: ConfigMap
            data:
              <<: *base
              kill: "true"
              copy: &c x
              again: *c
            """
        #expect(try data(yaml) == ["resourceURL": "http://a:1", "kill": "true", "copy": "x", "again": "x"])
    }

    @Test func refusals() {
        func message(_ yaml: String) -> String {
            do {
                _ = try data(yaml)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(message("kind: Secret\ndata: {a: b}") == "ConfigMap manifest: kind is Secret, expected ConfigMap")
        #expect(message("- a\n- b") == "ConfigMap manifest: not a YAML mapping")
        #expect(message("") == "ConfigMap manifest: not a YAML mapping")
        #expect(message("kind: ConfigMap") == "ConfigMap manifest: no data: mapping")
        #expect(message("kind: ConfigMap\ndata:") == "ConfigMap manifest: no data: mapping")
        #expect(message("data: {a: [1, 2]}") == "ConfigMap manifest: data.a is a sequence, not a string")
        #expect(message("data: {a: b}\n---\ndata: {c: d}") == "ConfigMap manifest: more than one YAML document")
        #expect(message("data: {a: *nowhere}").hasPrefix("ConfigMap manifest: "))
        #expect(message("data:\n  a: \"open\n").hasPrefix("ConfigMap manifest: line "))
        #expect(message("data:\n  a: b\n c: d\n").contains("line 3"))
    }

    @Test func deepNestingIsReadWithoutRecursion() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(try data("data: {a: b}\nx: \(deep)") == ["a": "b"])
    }
}
