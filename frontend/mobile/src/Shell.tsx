import { logout, selectSession, selectUser, visibleSections, type SectionId } from '@armillary/shared';
import { useAppDispatch, useAppSelector } from '@armillary/shared';
import { useState, type ComponentType } from 'react';
import { Pressable, StyleSheet, Text, View } from 'react-native';
import { useSafeAreaInsets } from 'react-native-safe-area-context';
import type { SignIn } from './App';
import { useOnline } from './context';
import { AdminScreen } from './screens/AdminScreen';
import { AnalyticsScreen } from './screens/AnalyticsScreen';
import { CryptoScreen } from './screens/CryptoScreen';
import { DocumentsScreen } from './screens/DocumentsScreen';
import { LoginScreen } from './screens/LoginScreen';
import { useTheme } from './theme';
import { Banner, Button } from './ui';

const SCREENS: Record<SectionId, ComponentType> = {
  crypto: CryptoScreen,
  ocr: DocumentsScreen,
  analytics: AnalyticsScreen,
  admin: AdminScreen,
};

/** Signed out: the login screen. Signed in: a header, the offline banner, the current section
 * and a bottom tab bar with the sections the user's role may see (admin only for admins). */
export function Shell({ server, onSignIn }: { server: string; onSignIn: (s: SignIn) => Promise<string | null> }) {
  const t = useTheme();
  const insets = useSafeAreaInsets();
  const dispatch = useAppDispatch();
  const session = useAppSelector(selectSession);
  const user = useAppSelector(selectUser);
  const online = useOnline();
  const [current, setCurrent] = useState<SectionId>('crypto');

  if (!session) {
    return (
      <View style={{ flex: 1, paddingTop: insets.top, backgroundColor: t.background }}>
        <LoginScreen server={server} onSignIn={onSignIn} />
      </View>
    );
  }

  const sections = visibleSections(user?.role);
  const shown = sections.some((s) => s.id === current) ? current : sections[0].id;
  const Current = SCREENS[shown];

  return (
    <View style={{ flex: 1, backgroundColor: t.background }}>
      <View style={[styles.header, { paddingTop: insets.top + 8, backgroundColor: t.card, borderColor: t.border }]}>
        <Text accessibilityRole="header" style={[styles.brand, { color: t.text }]}>
          Armillary
        </Text>
        {user && (
          <Text testID="whoami" style={{ color: t.muted, fontSize: 14, flexShrink: 1 }}>
            {user.name} · {user.role}
          </Text>
        )}
        <Button title="Sign out" variant="outline" onPress={() => void dispatch(logout())} />
      </View>
      {!online && (
        <Banner tone="warning" testID="offline">
          You are offline. Showing the last data; it refreshes and live updates resume when you reconnect.
        </Banner>
      )}
      <View style={{ flex: 1 }}>
        <Current key={shown} />
      </View>
      <View accessibilityRole="tablist" style={[styles.tabs, { paddingBottom: insets.bottom, backgroundColor: t.card, borderColor: t.border }]}>
        {sections.map((s) => {
          const on = s.id === shown;
          return (
            <Pressable
              key={s.id}
              accessibilityRole="tab"
              accessibilityState={{ selected: on }}
              onPress={() => setCurrent(s.id)}
              style={styles.tab}
            >
              <Text style={{ color: on ? t.primary : t.muted, fontWeight: on ? '700' : '500', fontSize: 15 }}>{s.label}</Text>
              <View style={{ height: 3, width: 28, marginTop: 4, borderRadius: 2, backgroundColor: on ? t.primary : 'transparent' }} />
            </Pressable>
          );
        })}
      </View>
    </View>
  );
}

const styles = StyleSheet.create({
  header: { flexDirection: 'row', alignItems: 'center', gap: 10, paddingHorizontal: 12, paddingBottom: 8, borderBottomWidth: StyleSheet.hairlineWidth, flexWrap: 'wrap' },
  brand: { fontSize: 20, fontWeight: '700', flexGrow: 1 },
  tabs: { flexDirection: 'row', borderTopWidth: StyleSheet.hairlineWidth },
  tab: { flex: 1, alignItems: 'center', justifyContent: 'center', minHeight: 52, paddingTop: 6 },
});
