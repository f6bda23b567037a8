import { selectSession } from '@armillary/shared';
import type { ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { Layout } from './components/Layout';
import { AdminPage } from './pages/AdminPage';
import { AnalyticsPage } from './pages/AnalyticsPage';
import { CryptoPage } from './pages/CryptoPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { OcrPage } from './pages/OcrPage';
import { useAppSelector } from './store';

function RequireAuth({ children }: { children: ReactNode }) {
  const session = useAppSelector(selectSession);
  const location = useLocation();
  if (!session) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  return <>{children}</>;
}

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        element={
          <RequireAuth>
            <Layout />
          </RequireAuth>
        }
      >
        <Route index element={<Navigate to="/crypto" replace />} />
        <Route path="/crypto" element={<CryptoPage />} />
        <Route path="/ocr" element={<OcrPage />} />
        <Route path="/analytics" element={<AnalyticsPage />} />
        {/* admins only: others get the server's 403 there, and no link to it */}
        <Route path="/admin" element={<AdminPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
