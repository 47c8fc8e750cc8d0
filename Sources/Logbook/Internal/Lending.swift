/// The generic half of `withValue`: runs `lend` (the look-up, not generic) with a body that
/// keeps what `body` returns. Inlined into the caller, so that `R` costs nothing.
@inlinable
func lendingResult<R>(
    _ body: (UnsafeRawBufferPointer?) throws -> R, _ lend: ((UnsafeRawBufferPointer?) throws -> Void) throws -> Void
) throws -> R {
    var result: R? = nil
    // `body` runs inside `lend`'s call only: it does not escape.
    try withoutActuallyEscaping(body) { body in try lend { result = try body($0) } }
    return result!
}
