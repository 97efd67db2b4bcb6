package produce

// SetFlushAt sets how many calls may be in flight for a new one to flush;
// 0 never flushes, as before lone calls did.
func SetFlushAt(p *Producer, n int64) { p.flushAt = n }
