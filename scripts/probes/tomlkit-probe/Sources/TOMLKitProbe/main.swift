import TOMLKit

// 1. Parse errors: TOMLParseError.source.begin has line and column (toml++'s source_region).
let syntax: [String] = [
    "model = bcnn\n",
    "seed = 1\nmodel = \"bcnn\n",
    "seed = 1\nseed = 2\n",
    "[train]\nepochs = 1\n[train]\n",
    "train.epochs = 1\n[train]\n",
    "seed = 1\n[seed]\n",
    "train = { epochs = 1 }\ntrain.batch_size = 2\n",
    "model \"bcnn\"\n",
    "model = \n",
    "model = \"bcnn\" seed = 1\n",
    "data.directory = \"a\\qb\"\n",
    "seed = 007\n",
    "seed = 1__0\n",
    "[train\n",
    "= 3\n",
    "train = { epochs = 1\n",
    "data.directory = \"\"\"abc\n",
    "data.directory = \"a\u{0}b\"\n",
    "# a comment with \u{7F}\n",
    "data.directory = \"a\\eb\"\n",
]
print("== parse errors (TOMLParseError)")
for text in syntax {
    do {
        _ = try TOMLTable(string: text)
        print("\(text.debugDescription) -> no error")
    } catch let e as TOMLParseError {
        print("\(text.debugDescription) -> \(e.source.begin.line):\(e.source.begin.column) \(e.description)")
    } catch {
        print("\(text.debugDescription) -> other error \(error)")
    }
}

// 2. Values the parser accepts but a spec refuses: TOMLKit reads them without complaint,
// so the refusal must come after parsing -- and then needs the node's position.
print("== accepted, refused later by benn")
for text in ["seed = 1979-05-27\n", "[[train]]\n", "train = 5\n", "seed = [1, 2]\n"] {
    do {
        let t = try TOMLTable(string: text)
        print("\(text.debugDescription) -> parsed: \(t.keys) \(t.values.map { "\($0.type)" })")
    } catch {
        print("\(text.debugDescription) -> \(error)")
    }
}

// 2b. TOMLTable(string:) hands toml++ a C string, so a NUL ends the document there:
// what follows it is dropped without an error.
print("== NUL truncates")
let truncated = try TOMLTable(string: "model = \"bcnn\"\n\u{0}[train]\nepochs = 999\n")
print("keys after a NUL line:", truncated.keys)

// 3. Node positions: what a TOMLValue / TOMLTable offers. Mirror lists the stored
// properties; none is a position (toml++'s node::source() is not bridged by CTOML).
let doc = try TOMLTable(string: "model = \"bmlp\"\n[train]\nepochs = 3\nbatch_szie = 64\n")
let train = doc["train"]!.table!
let value = train["batch_szie"]!
print("== node positions")
print("TOMLValue stored properties:", Mirror(reflecting: value).children.map { $0.label ?? "?" })
print("TOMLTable stored properties:", Mirror(reflecting: train).children.map { $0.label ?? "?" })
print("want: batch_szie at 4:1, its value at 4:14 -- TOMLKit has no API returning either")

// 4. Key order: toml::table is a std::map, so keys come back sorted, not as written.
let ordered = try TOMLTable(string: "zeta = 1\nalpha = 2\nmid = 3\n")
print("== key order for zeta, alpha, mid:", ordered.keys)

// 5. Values come back typed, not as written: 0x40 -> 64, 8e-1 -> 0.8, 5_000 -> 5000.
let typed = try TOMLTable(string: "a = 0x40\nb = 8e-1\nc = 5_000\nd = 5.0E-4\n")
print("== typed values:", typed.keys.map { "\($0)=\(typed[$0]!)" })
