"""Operations: the crash test under repeated kills, preparing optional models."""
