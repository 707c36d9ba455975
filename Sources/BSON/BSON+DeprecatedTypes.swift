extension BSON {
    /// The value with the deprecated types replaced by their modern equivalents, as the
    /// bson-corpus' `converted_bson` shows them: symbol becomes string, undefined becomes
    /// null, and a DBPointer becomes a DBRef document `{"$ref": ..., "$id": ...}`. Nested
    /// documents and arrays are converted too.
    public func replacingDeprecatedTypes() -> BSON {
        switch self {
        case .symbol(let s): return .string(s)
        case .undefined: return .null
        case .dbPointer(let p): return .document(["$ref": .string(p.ref), "$id": .objectID(p.id)])
        case .document(let d): return .document(d.replacingDeprecatedTypes())
        case .array(let values): return .array(values.map { $0.replacingDeprecatedTypes() })
        case .javascriptWithScope(let c):
            return .javascriptWithScope(BSONCodeWithScope(code: c.code, scope: c.scope.replacingDeprecatedTypes()))
        default: return self
        }
    }
}

extension BSONDocument {
    /// The document with deprecated types replaced; see `BSON.replacingDeprecatedTypes()`.
    public func replacingDeprecatedTypes() -> BSONDocument {
        BSONDocument(elements.map { (key: $0.key, value: $0.value.replacingDeprecatedTypes()) })
    }
}
