import BennNN

extension SpecParser {
    /// Applies `key=value` assignments (`train.batch_size=64`, `method_options.teacher=t.ckpt`)
    /// to a spec, each read and range-checked through the schema as a spec file's value is.
    /// A method is set before any option, whatever the order given, so that choosing a method
    /// (which starts from its defaults) never drops an option set beside it; an option the
    /// final method does not take is an error. The caller validates the result.
    public static func apply(_ assignments: [String], to spec: TrainingSpec) throws -> TrainingSpec {
        var spec = spec
        let parsed = try assignments.map { assignment -> (SpecField<TrainingSpec>, String, String) in
            let here = "--set \(assignment)"
            guard let equals = assignment.firstIndex(of: "=") else {
                throw SpecError(location: here, message: "expected key=value, e.g. train.batch_size=64")
            }
            let key = String(assignment[..<equals]), value = String(assignment[assignment.index(after: equals)...])
            guard let field = TrainingSpec.fieldsByKey[key] else {
                let hint = nearest(key, in: TrainingSpec.schema.map(\.key)).map { " (did you mean '\($0)'?)" } ?? ""
                // Fifty keys would bury the hint: the command that lists them instead.
                throw SpecError(location: here, message: "unknown key '\(key)'\(hint); `benn check --schema` lists the keys")
            }
            return (field, value, here)
        }
        for (field, value, here) in parsed.sorted(by: { ($0.0.key == "method" ? 0 : 1) < ($1.0.key == "method" ? 0 : 1) }) {
            try Reader(source: here).set(field, SpecNode(.scalar(value)), in: &spec)
        }
        let method = spec.method.name
        for (field, _, here) in parsed where field.methods.map({ !$0.contains(method) }) ?? false {
            throw SpecError(location: here, message: "method \(method.rawValue) does not take \(field.name); its options: \(MethodSpec.optionKeys(for: method).joined(separator: ", "))")
        }
        return spec
    }

    /// `spec` with `assignments` applied (as `apply`), then validated: what a command that
    /// builds a spec from its flags runs. An error without a place is the command line's.
    public static func override(_ spec: TrainingSpec, with assignments: [String]) throws -> TrainingSpec {
        let spec = try apply(assignments, to: spec)
        do { try spec.validate() } catch var e as SpecError {
            e.location = e.location ?? "options"
            throw e
        }
        return spec
    }
}
