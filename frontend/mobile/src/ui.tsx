import { cellText } from '@armillary/shared';
import type { ReactNode } from 'react';
import { ActivityIndicator, Pressable, RefreshControl, ScrollView, StyleSheet, Switch, Text, TextInput, View, type TextInputProps } from 'react-native';
import { useLargeText, useTheme, type Tone } from './theme';

// Text keeps the system font scaling (allowFontScaling is on by default); sizes are minimums.

export function Screen({ children, refreshing, onRefresh, testID }: { children: ReactNode; refreshing?: boolean; onRefresh?: () => void; testID?: string }) {
  const t = useTheme();
  return (
    <ScrollView
      testID={testID}
      style={{ flex: 1, backgroundColor: t.background }}
      contentContainerStyle={styles.screen}
      keyboardShouldPersistTaps="handled"
      refreshControl={onRefresh ? <RefreshControl refreshing={!!refreshing} onRefresh={onRefresh} tintColor={t.primary} colors={[t.primary]} /> : undefined}
    >
      {children}
    </ScrollView>
  );
}

export function Title({ children }: { children: ReactNode }) {
  const t = useTheme();
  return (
    <Text accessibilityRole="header" style={[styles.title, { color: t.text }]}>
      {children}
    </Text>
  );
}

export function Body({ children, testID, selectable }: { children: ReactNode; testID?: string; selectable?: boolean }) {
  const t = useTheme();
  return (
    <Text testID={testID} selectable={selectable} style={[styles.body, { color: t.text }]}>
      {children}
    </Text>
  );
}

export function Muted({ children, testID }: { children: ReactNode; testID?: string }) {
  const t = useTheme();
  return (
    <Text testID={testID} style={[styles.muted, { color: t.muted }]}>
      {children}
    </Text>
  );
}

export function Card({ title, action, children, testID }: { title: string; action?: ReactNode; children: ReactNode; testID?: string }) {
  const t = useTheme();
  return (
    <View testID={testID} style={[styles.card, { backgroundColor: t.card, borderColor: t.border }]}>
      <View style={styles.cardHead}>
        <Text accessibilityRole="header" style={[styles.cardTitle, { color: t.text }]}>
          {title}
        </Text>
        {action}
      </View>
      {children}
    </View>
  );
}

export function Banner({ tone, children, testID }: { tone: Tone; children: ReactNode; testID?: string }) {
  const t = useTheme();
  const c = t.tones[tone];
  return (
    <View
      testID={testID}
      accessibilityRole={tone === 'error' ? 'alert' : 'summary'}
      accessibilityLiveRegion={tone === 'error' ? 'assertive' : 'polite'}
      style={[styles.banner, { backgroundColor: c.bg }]}
    >
      <Text style={[styles.body, { color: c.fg }]}>{children}</Text>
    </View>
  );
}

export function Button({ title, onPress, disabled, variant = 'primary', testID }: { title: string; onPress: () => void; disabled?: boolean; variant?: 'primary' | 'outline'; testID?: string }) {
  const t = useTheme();
  const filled = variant === 'primary';
  return (
    <Pressable
      testID={testID}
      accessibilityRole="button"
      accessibilityState={{ disabled: !!disabled }}
      disabled={disabled}
      onPress={onPress}
      style={({ pressed }) => [
        styles.button,
        { backgroundColor: filled ? t.primary : 'transparent', borderColor: t.primary, opacity: disabled ? 0.5 : pressed ? 0.8 : 1 },
      ]}
    >
      <Text style={[styles.buttonText, { color: filled ? t.onPrimary : t.primary }]}>{title}</Text>
    </Pressable>
  );
}

export function Field({ label, ...input }: { label: string } & TextInputProps) {
  const t = useTheme();
  return (
    <View style={styles.field}>
      <Text style={[styles.muted, { color: t.muted }]}>{label}</Text>
      <TextInput
        accessibilityLabel={label}
        placeholderTextColor={t.muted}
        style={[styles.input, { color: t.text, borderColor: t.border, backgroundColor: t.background }]}
        {...input}
      />
    </View>
  );
}

export function Toggle({ label, value, onValueChange }: { label: string; value: boolean; onValueChange: (v: boolean) => void }) {
  const t = useTheme();
  return (
    <View style={styles.row}>
      <Switch accessibilityLabel={label} value={value} onValueChange={onValueChange} />
      <Text style={[styles.body, { color: t.text, flexShrink: 1 }]}>{label}</Text>
    </View>
  );
}

/** Label and value side by side, or stacked with large text. */
export function KeyValue({ label, value, testID }: { label: string; value: unknown; testID?: string }) {
  const t = useTheme();
  const large = useLargeText();
  return (
    <View testID={testID} style={[styles.kv, { flexDirection: large ? 'column' : 'row', borderColor: t.border }]}>
      <Text style={[styles.muted, { color: t.muted, flexShrink: 0, marginRight: 12 }]}>{label}</Text>
      <Text selectable style={[styles.body, { color: t.text, flexShrink: 1, textAlign: large ? 'left' : 'right', fontVariant: ['tabular-nums'] }]}>
        {cellText(value)}
      </Text>
    </View>
  );
}

export function ProgressBar({ fraction, label }: { fraction: number | null; label: string }) {
  const t = useTheme();
  return (
    <View
      accessibilityRole="progressbar"
      accessibilityLabel={label}
      accessibilityValue={fraction === null ? undefined : { min: 0, max: 100, now: Math.round(fraction * 100) }}
      style={[styles.track, { backgroundColor: t.border }]}
    >
      {fraction === null ? (
        <ActivityIndicator size="small" color={t.primary} />
      ) : (
        <View style={{ width: `${Math.round(fraction * 100)}%`, height: '100%', backgroundColor: t.primary, borderRadius: 4 }} />
      )}
    </View>
  );
}

/** A horizontal bar for a share of the largest value (segment charts). */
export function Bar({ label, value, max, text }: { label: string; value: number; max: number; text: string }) {
  const t = useTheme();
  const share = max > 0 ? Math.max(0.02, value / max) : 0;
  return (
    <View accessible accessibilityLabel={`${label}: ${text}`} style={styles.barRow}>
      <View style={styles.barHead}>
        <Text style={[styles.body, { color: t.text, flexShrink: 1 }]}>{label}</Text>
        <Text style={[styles.muted, { color: t.muted }]}>{text}</Text>
      </View>
      <View style={[styles.track, { backgroundColor: t.border }]}>
        <View style={{ width: `${share * 100}%`, height: '100%', backgroundColor: t.primary, borderRadius: 4 }} />
      </View>
    </View>
  );
}

export function Segmented<T extends string>({ options, value, onChange, label }: { options: { value: T; label: string }[]; value: T; onChange: (v: T) => void; label: string }) {
  const t = useTheme();
  return (
    <View accessibilityRole="radiogroup" accessibilityLabel={label} style={styles.segmented}>
      {options.map((o) => {
        const on = o.value === value;
        return (
          <Pressable
            key={o.value}
            accessibilityRole="radio"
            accessibilityState={{ checked: on }}
            onPress={() => onChange(o.value)}
            style={[styles.segment, { borderColor: t.primary, backgroundColor: on ? t.primary : 'transparent' }]}
          >
            <Text style={[styles.buttonText, { color: on ? t.onPrimary : t.primary }]}>{o.label}</Text>
          </Pressable>
        );
      })}
    </View>
  );
}

export function Chip({ text, tone, testID }: { text: string; tone: Tone; testID?: string }) {
  const t = useTheme();
  const c = t.tones[tone];
  return (
    <View style={[styles.chip, { backgroundColor: c.bg }]}>
      <Text testID={testID} style={[styles.muted, { color: c.fg }]}>
        {text}
      </Text>
    </View>
  );
}

/** A list item that can be pressed (documents, ...). */
export function ListItem({ title, subtitle, onPress }: { title: string; subtitle?: string; onPress?: () => void }) {
  const t = useTheme();
  return (
    <Pressable accessibilityRole={onPress ? 'button' : undefined} onPress={onPress} style={[styles.item, { borderColor: t.border }]}>
      <Text style={[styles.body, { color: t.text }]}>{title}</Text>
      {subtitle ? <Text style={[styles.muted, { color: t.muted }]}>{subtitle}</Text> : null}
    </Pressable>
  );
}

const styles = StyleSheet.create({
  screen: { padding: 12, gap: 12, paddingBottom: 32 },
  title: { fontSize: 24, fontWeight: '700' },
  body: { fontSize: 16, lineHeight: 22 },
  muted: { fontSize: 14, lineHeight: 20 },
  card: { borderWidth: StyleSheet.hairlineWidth, borderRadius: 10, padding: 12, gap: 8 },
  cardHead: { flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between', flexWrap: 'wrap', gap: 8 },
  cardTitle: { fontSize: 18, fontWeight: '600', flexShrink: 1 },
  banner: { borderRadius: 8, padding: 10 },
  button: { minHeight: 44, paddingHorizontal: 16, paddingVertical: 10, borderRadius: 8, borderWidth: 1, alignItems: 'center', justifyContent: 'center' },
  buttonText: { fontSize: 16, fontWeight: '600', textAlign: 'center' },
  field: { gap: 4 },
  input: { minHeight: 44, borderWidth: 1, borderRadius: 8, paddingHorizontal: 10, paddingVertical: 8, fontSize: 16 },
  row: { flexDirection: 'row', alignItems: 'center', gap: 8, flexWrap: 'wrap' },
  kv: { justifyContent: 'space-between', paddingVertical: 6, borderBottomWidth: StyleSheet.hairlineWidth, gap: 2 },
  track: { height: 8, borderRadius: 4, overflow: 'hidden', justifyContent: 'center' },
  barRow: { gap: 4, marginBottom: 6 },
  barHead: { flexDirection: 'row', justifyContent: 'space-between', gap: 8, flexWrap: 'wrap' },
  segmented: { flexDirection: 'row', flexWrap: 'wrap', gap: 8 },
  segment: { minHeight: 44, paddingHorizontal: 14, justifyContent: 'center', borderRadius: 22, borderWidth: 1 },
  chip: { borderRadius: 12, paddingHorizontal: 10, paddingVertical: 4, alignSelf: 'flex-start' },
  item: { paddingVertical: 10, borderBottomWidth: StyleSheet.hairlineWidth, minHeight: 44, justifyContent: 'center' },
});
