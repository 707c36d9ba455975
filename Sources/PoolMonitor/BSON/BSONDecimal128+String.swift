// Placeholder until the decimal128 string conversion lands (issue 2, BSON work): parsing
// returns nil so `$numberDecimal` is rejected with a clear error rather than misread.
extension BSONDecimal128 {
    public init?(string: String) {
        return nil
    }
}
